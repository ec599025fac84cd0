/**
 * A small Dockerfile reader: enough of the syntax for deploy/docker/Dockerfile
 * (stages, ARG defaults in FROM, line continuations, flags, exec-form JSON),
 * so that tests act on what the Dockerfile says instead of a copy of it.
 */
import { readFileSync } from 'node:fs';

export interface Instruction {
  /** Upper-cased keyword: FROM, COPY, RUN, ... */
  keyword: string;
  /** `--name=value` flags before the arguments (`--mount`, `--from`, `--chown`, ...). */
  flags: Map<string, string>;
  /** The rest of the line, continuations joined. */
  rest: string;
}

export interface Stage {
  name: string;
  /** The image, with ARG defaults substituted. */
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Map<string, string>;
  stages: Stage[];
  stage(name: string): Stage;
}

/** Joins continuation lines and drops comments and blank lines. */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    // A comment inside a continued instruction is skipped too (as BuildKit does).
    if (current !== '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += line.slice(0, -1) + ' ';
      continue;
    }
    current += line;
    if (current.trim() !== '') lines.push(current.trim());
    current = '';
  }
  if (current.trim() !== '') lines.push(current.trim());
  return lines;
}

function parseInstruction(line: string): Instruction {
  const match = /^(\S+)\s*(.*)$/s.exec(line);
  if (!match) throw new Error(`cannot parse Dockerfile line: ${line}`);
  let rest = match[2] ?? '';
  const flags = new Map<string, string>();
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s+/.exec(rest);
    if (!flag) break;
    flags.set(flag[1] ?? '', flag[2] ?? '');
    rest = rest.slice(flag[0].length);
  }
  return { keyword: (match[1] ?? '').toUpperCase(), flags, rest: rest.trim() };
}

function substitute(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => args.get(name) ?? whole);
}

export function parseDockerfile(text: string): Dockerfile {
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logicalLines(text)) {
    const instruction = parseInstruction(line);
    if (instruction.keyword === 'FROM') {
      const [image = '', as, name] = instruction.rest.split(/\s+/);
      if (as !== undefined && as.toUpperCase() !== 'AS') throw new Error(`cannot parse FROM: ${line}`);
      stages.push({ name: name ?? String(stages.length), from: substitute(image, args), instructions: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) {
      // Only ARG may come before the first FROM: its default applies to FROM lines.
      if (instruction.keyword !== 'ARG') throw new Error(`${instruction.keyword} before FROM`);
      const [name = '', value = ''] = instruction.rest.split('=');
      args.set(name, value);
      continue;
    }
    stage.instructions.push(instruction);
  }
  return {
    args,
    stages,
    stage(name) {
      const found = stages.find((s) => s.name === name);
      if (!found) throw new Error(`Dockerfile has no stage named ${name}`);
      return found;
    },
  };
}

export function readDockerfile(file: string): Dockerfile {
  return parseDockerfile(readFileSync(file, 'utf8'));
}

/** An exec-form argument list (`["node", "x.js"]`), or undefined for shell form. */
export function execForm(rest: string): string[] | undefined {
  if (!rest.startsWith('[')) return undefined;
  const parsed: unknown = JSON.parse(rest);
  if (!Array.isArray(parsed) || !parsed.every((a): a is string => typeof a === 'string')) {
    throw new Error(`not an exec-form array: ${rest}`);
  }
  return parsed;
}

/** COPY's sources and destination (shell or JSON form). */
export function copyPaths(instruction: Instruction): { sources: string[]; dest: string } {
  const parts = execForm(instruction.rest) ?? instruction.rest.split(/\s+/);
  const dest = parts.at(-1);
  if (parts.length < 2 || dest === undefined) throw new Error(`COPY needs a source and a destination: ${instruction.rest}`);
  return { sources: parts.slice(0, -1), dest };
}

/** ENV lines of a stage as a map (`ENV A=1 B=2` form). */
export function stageEnv(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (instruction.keyword !== 'ENV') continue;
    for (const pair of instruction.rest.split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`use ENV NAME=value: ${instruction.rest}`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The last instruction with this keyword in the stage. */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** HEALTHCHECK's command as an argv (exec form after `CMD`). */
export function healthcheckCommand(stage: Stage): string[] {
  const instruction = last(stage, 'HEALTHCHECK');
  if (!instruction) throw new Error(`stage ${stage.name} has no HEALTHCHECK`);
  const match = /^CMD\s+(.*)$/s.exec(instruction.rest);
  const argv = match ? execForm(match[1] ?? '') : undefined;
  if (!argv) throw new Error(`HEALTHCHECK must use CMD in exec form: ${instruction.rest}`);
  return argv;
}
