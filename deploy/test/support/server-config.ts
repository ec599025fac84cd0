/**
 * The environment variables the server reads, taken from server/src/config.ts
 * itself, so that a typo in docker-compose.yml or a Kubernetes manifest (a
 * setting that would be silently ignored) fails a test.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@roomcast/deploy/local';

export function serverEnvVariables(): Set<string> {
  const source = readFileSync(path.join(repoRoot, 'server/src/config.ts'), 'utf8');
  const names = new Set<string>();
  // env.NAME and env['NAME'] reads, and the EnvReader helpers: read.int('NAME', ...).
  for (const m of source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1] ?? '');
  for (const m of source.matchAll(/\benv\[['"]([A-Z][A-Z0-9_]*)['"]\]/g)) names.add(m[1] ?? '');
  for (const m of source.matchAll(/\bread\.\w+\(\s*['"]([A-Z][A-Z0-9_]*)['"]/g)) names.add(m[1] ?? '');
  names.delete('');
  return names;
}

/** What the server's own loadConfig makes of an environment (it throws on a setting it refuses). */
export async function loadServerConfig(env: Record<string, string>): Promise<import('../../../server/src/config.js').Config> {
  const { loadConfig } = await import('../../../server/src/config.js');
  return loadConfig(env);
}
