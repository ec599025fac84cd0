/**
 * docker-compose.yml as the real tool sees it: `docker-compose config` (the
 * Debian docker-compose 1.29 package) validates the file offline and prints it
 * with every anchor merged and every variable interpolated.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '@roomcast/deploy/local';
import { run } from './child.js';

export const composeFile = path.join(repoRoot, 'docker-compose.yml');
export const composeBinary = '/usr/bin/docker-compose';
export const hasCompose = existsSync(composeBinary);

export interface Healthcheck {
  test: string[] | string;
  interval?: string;
  timeout?: string;
  retries?: number;
  start_period?: string;
}

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string };
  command?: string[] | string;
  environment?: Record<string, string>;
  env_file?: string[] | string;
  profiles?: string[];
  healthcheck?: Healthcheck;
  depends_on?: Record<string, { condition: string }> | string[];
  ports?: Array<{ published: number | string; target: number; host_ip?: string } | string>;
  volumes?: string[];
  restart?: string;
  stop_grace_period?: string;
}

export interface ComposeConfig {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/**
 * Runs `docker-compose config` with only `vars` in its environment and an
 * env file holding `envFileText` (empty by default), so a developer's own
 * .env or shell cannot change the result. `args` go before `config`
 * (`--profile sentinel`).
 */
export async function composeConfig(
  vars: Record<string, string>,
  envFileText = '',
  args: string[] = [],
): Promise<{ code: number | null; output: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-compose-'));
  try {
    const envFile = path.join(dir, 'test.env');
    await writeFile(envFile, envFileText);
    return await run(composeBinary, ['-f', composeFile, '--env-file', envFile, ...args, 'config'], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, ...vars },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function parseCompose(text: string): ComposeConfig {
  // merge: the file shares the replicas' settings with `<<: *chat` anchors.
  return parse(text, { merge: true }) as ComposeConfig;
}

/** Seconds in a compose duration such as `30s`, `1m30s`, `1m`. */
export function durationSeconds(value: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?$/.exec(value.trim());
  if (!match || value.trim() === '') throw new Error(`not a compose duration: ${value}`);
  return Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
}

/** The chat replicas: services named chat-<n>. */
export function chatServices(config: ComposeConfig): Array<[string, ComposeService]> {
  return Object.entries(config.services).filter(([name]) => /^chat-\d+$/.test(name));
}

/**
 * Compose's interpolation of one value: `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?message}`, `${VAR?message}`, `$VAR` and `$$`.
 * Throws with the message where compose refuses to start.
 */
export function interpolate(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, name?: string, colon?: string, op?: string, word?: string, bare?: string) => {
      if (match === '$$') return '$';
      if (bare !== undefined) return vars[bare] ?? '';
      const current = vars[name ?? ''];
      const missing = current === undefined || (colon === ':' && current === '');
      if (!missing || op === undefined) return current ?? '';
      if (op === '-') return word ?? '';
      throw new Error(`${name}: ${word}`);
    },
  );
}

/** A port mapping as `docker-compose config` prints it (short or long syntax). */
export function publishedPort(port: { published: number | string; target: number; host_ip?: string } | string): {
  hostIp: string | undefined;
  published: number;
  target: number;
} {
  if (typeof port !== 'string') return { hostIp: port.host_ip, published: Number(port.published), target: port.target };
  const match = /^(?:(.+):)?(\d+):(\d+)(?:\/\w+)?$/.exec(port);
  if (!match) throw new Error(`unexpected port mapping ${port}`);
  return { hostIp: match[1], published: Number(match[2]), target: Number(match[3]) };
}

/** KEY=VALUE lines of an env file (compose's format: # comments, blank lines). */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new Error(`not an env file line: ${line}`);
    vars[trimmed.slice(0, eq)] = trimmed.slice(eq + 1);
  }
  return vars;
}

/**
 * A service's environment as its container gets it, from the file as written
 * (not `docker-compose config`): its env_file(s), paths interpolated with
 * `vars` and relative to the repository root, then its `environment`
 * (which wins), every value interpolated with `vars`.
 */
export function serviceEnvironment(service: ComposeService, vars: Readonly<Record<string, string>>): Record<string, string> {
  const files = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
  const fromFiles = Object.assign(
    {},
    ...files.map((file) => parseEnvFile(readFileSync(path.join(repoRoot, interpolate(file, vars)), 'utf8'))),
  ) as Record<string, string>;
  const own = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, interpolate(v, vars)]));
  return { ...fromFiles, ...own };
}

/** Services that run without any profile (what `docker compose up` starts by default). */
export function defaultServices(config: ComposeConfig): string[] {
  return Object.entries(config.services).filter(([, s]) => !s.profiles?.length).map(([name]) => name);
}

/** Services of one profile. */
export function profileServices(config: ComposeConfig, profile: string): string[] {
  return Object.entries(config.services).filter(([, s]) => s.profiles?.includes(profile)).map(([name]) => name);
}
