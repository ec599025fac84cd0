/**
 * Runs the real redis-server with a deployment's persistence settings (the
 * compose command line, or the Kubernetes redis.conf) and reads back what it
 * applied: proof that the settings parse and mean what we think.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, redisCommand } from '@roomcast/deploy/local';
import { startChild } from './child.js';

export interface PersistenceSettings {
  appendonly: string;
  appendfsync: string;
  save: string;
}

/**
 * Starts redis-server with the deployment's own arguments (`args`, as in
 * compose's command) or config file (`configText`, as in the Kubernetes
 * ConfigMap). Its data directory is replaced by a temp dir (Redis changes into
 * `dir` as soon as it reads it, so it cannot be overridden later); a free port
 * and a loopback bind are appended (later settings win).
 */
export async function appliedPersistence(source: { args: string[] } | { configText: string }): Promise<PersistenceSettings> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-deploy-redis-'));
  const port = await freePort();
  let args: string[];
  if ('args' in source) {
    args = source.args.map((arg, i) => (source.args[i - 1] === '--dir' ? dir : arg));
  } else {
    const configFile = path.join(dir, 'redis.conf');
    await writeFile(configFile, source.configText.replace(/^dir .*$/m, `dir ${dir}`));
    args = [configFile];
  }
  const server = startChild('redis-server', [...args, '--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'no']);
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (server.hasExited()) throw new Error(`redis-server exited:\n${server.output()}`);
      if ((await redisCommand(port, ['PING'], 500).catch(() => undefined)) === 'PONG') break;
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING:\n${server.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const get = async (name: string): Promise<string> => {
      const reply = await redisCommand(port, ['CONFIG', 'GET', name], 2000);
      if (!Array.isArray(reply) || typeof reply[1] !== 'string') throw new Error(`CONFIG GET ${name}: ${String(reply)}`);
      return reply[1];
    };
    return { appendonly: await get('appendonly'), appendfsync: await get('appendfsync'), save: await get('save') };
  } finally {
    await server.kill();
    await rm(dir, { recursive: true, force: true });
  }
}
