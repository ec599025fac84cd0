/**
 * .dockerignore matching, as the Docker builder does it: patterns are rooted
 * at the context, `*` stays within a path segment, `**` spans segments, a
 * pattern that matches a directory excludes everything below it, and a later
 * `!pattern` re-includes.
 */
import { readFileSync } from 'node:fs';

interface Rule {
  exclude: boolean;
  regex: RegExp;
}

function toRegex(pattern: string): RegExp {
  let source = '';
  const clean = pattern.replace(/^\/+/, '').replace(/\/+$/, '');
  for (let i = 0; i < clean.length; i++) {
    const c = clean[i] ?? '';
    if (c === '*' && clean[i + 1] === '*') {
      // `**/` matches zero or more directories.
      if (clean[i + 2] === '/') {
        source += '(?:.*/)?';
        i += 2;
      } else {
        source += '.*';
        i += 1;
      }
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else source += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A match on a directory covers what is inside it.
  return new RegExp(`^${source}(?:/.*)?$`);
}

export function readDockerignore(file: string): Rule[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => (line.startsWith('!') ? { exclude: false, regex: toRegex(line.slice(1)) } : { exclude: true, regex: toRegex(line) }));
}

/** True when `relPath` (relative to the context, `/`-separated) is left out of the build context. */
export function isIgnored(rules: Rule[], relPath: string): boolean {
  const clean = relPath.replace(/^\.\//, '').replace(/\/+$/, '');
  let ignored = false;
  for (const rule of rules) if (rule.regex.test(clean)) ignored = rule.exclude;
  return ignored;
}
