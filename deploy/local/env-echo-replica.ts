/**
 * For launcher tests: a stand-in for server/dist/main.js that answers
 * /healthz and shows its REDIS_* environment on /env, so a test sees exactly
 * what a replica would have been told about Redis, whatever the server
 * supports yet.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const SOURCE = `
import http from 'node:http';
const redis = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('REDIS_')));
http.createServer((req, res) => {
  if (req.url === '/healthz') return res.end('ok');
  if (req.url === '/env') return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(redis));
  res.writeHead(404).end();
}).listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => process.exit(0));
`;

/** Writes the stand-in to a temp dir; returns its path (for startCluster's / startReplica's `entry`). */
export async function writeEnvEchoReplica(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-env-echo-'));
  const entry = path.join(dir, 'env-echo.mjs');
  await writeFile(entry, SOURCE);
  return entry;
}

/** The REDIS_* variables a replica started from writeEnvEchoReplica() was given. */
export async function replicaRedisEnv(replicaUrl: string): Promise<Record<string, string>> {
  const res = await fetch(`${replicaUrl}/env`);
  if (!res.ok) throw new Error(`GET ${replicaUrl}/env answered ${res.status}`);
  return (await res.json()) as Record<string, string>;
}
