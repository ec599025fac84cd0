/**
 * What nginx logs, read from rendered config files: every `log_format` and
 * `access_log` directive, and the rules that keep tokens out of the access
 * log (legacy clients still send `/ws?token=...`).
 */

/** One directive: its name and its arguments, quotes removed. */
export interface Directive {
  name: string;
  args: string[];
  /** The enclosing block names, outermost first (e.g. ['http', 'server']). */
  blocks: string[];
}

/**
 * Splits nginx config text into directives, the way nginx tokenises it:
 * `#` comments to the end of the line, single- and double-quoted arguments
 * (with backslash escapes), `;` ends a directive, `{`/`}` open and close blocks.
 */
export function parseDirectives(text: string): Directive[] {
  const directives: Directive[] = [];
  const blocks: string[] = [];
  let words: string[] = [];
  let word = '';
  let inWord = false;
  const endWord = (): void => {
    if (inWord) words.push(word);
    word = '';
    inWord = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '#' && !inWord) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      for (; j < text.length && text[j] !== c; j++) {
        if (text[j] === '\\') j++;
        word += text[j] ?? '';
      }
      inWord = true;
      i = j;
    } else if (/\s/.test(c)) {
      endWord();
    } else if (c === ';' || c === '{' || c === '}') {
      endWord();
      if (c === '}') {
        blocks.pop();
      } else if (words.length > 0) {
        const [name = '', ...args] = words;
        if (c === '{') blocks.push(name);
        else directives.push({ name, args, blocks: [...blocks] });
      }
      words = [];
    } else {
      word += c;
      inWord = true;
    }
  }
  return directives;
}

/**
 * Variables that must never be in an access log format: the request line and
 * anything holding the query string (where legacy clients put their token),
 * the Referer (a page URL with its query), and the headers that carry
 * credentials (the token subprotocol, Authorization, cookies).
 */
export const FORBIDDEN_LOG_VARIABLE =
  /\$\{?(request|request_uri|args|query_string|http_referer|http_authorization|http_cookie|http_sec_websocket_protocol|arg_\w+|cookie_\w+)(?![A-Za-z0-9_])/;

/**
 * The problems of a set of config files rendered together (top-level config
 * first): a log format with a forbidden variable, an access log in a format
 * that is not one of ours (nginx's `combined` writes the request line), or a
 * top-level http block that leaves nginx's default `combined` log in place.
 */
export function accessLogProblems(files: string[]): string[] {
  const directives = files.flatMap(parseDirectives);
  const problems: string[] = [];
  const formats = new Map<string, string>();
  for (const d of directives.filter((x) => x.name === 'log_format')) {
    const [name = '', ...rest] = d.args;
    const format = rest.filter((arg) => !arg.startsWith('escape=')).join('');
    formats.set(name, format);
    const bad = FORBIDDEN_LOG_VARIABLE.exec(format);
    if (bad) problems.push(`log_format ${name} uses $${bad[1] ?? ''}`);
  }
  for (const d of directives.filter((x) => x.name === 'access_log')) {
    const [target, format] = d.args;
    if (target === 'off') continue;
    if (format === undefined) problems.push(`access_log ${target} has no format: nginx uses combined (the request line)`);
    else if (!formats.has(format)) problems.push(`access_log ${target} uses format ${format}, which is not defined here`);
  }
  const top = parseDirectives(files[0] ?? '');
  if (!top.some((d) => d.name === 'access_log' && d.blocks.join('/') === 'http')) {
    problems.push('the http block sets no access_log: nginx would log in combined format by default');
  }
  return problems;
}

/** The access logs that are on: their file and format. */
export function activeAccessLogs(files: string[]): Array<{ file: string; format: string | undefined; blocks: string[] }> {
  return files
    .flatMap(parseDirectives)
    .filter((d) => d.name === 'access_log' && d.args[0] !== 'off')
    .map((d) => ({ file: d.args[0] ?? '', format: d.args[1], blocks: d.blocks }));
}

/** The text of one log format, its string arguments joined. */
export function logFormat(files: string[], name: string): string | undefined {
  const d = files.flatMap(parseDirectives).find((x) => x.name === 'log_format' && x.args[0] === name);
  return d?.args.slice(1).filter((arg) => !arg.startsWith('escape=')).join('');
}
