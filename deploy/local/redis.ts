/**
 * A redis-server child process for the local cluster and for tests: loopback
 * only, on a port picked at runtime, with its data in a directory we name.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { describeExit, OutputTail, requireExecutable, spawnGroup, type ManagedProcess } from './process.js';
import { redisCommand } from './resp.js';
import type { SingleRedisTopology } from './topology.js';
import { waitUntil } from './wait.js';

export interface RedisHandle extends SingleRedisTopology {
  readonly mode: 'single';
  port: number;
  /** redis://127.0.0.1:port, with the password in it when there is one. */
  url: string;
  password?: string;
  pid: number;
  dataDir: string;
  stop(): Promise<void>;
  /** Stops (SIGTERM: redis flushes its append-only file) and starts again on the same port and data dir. */
  restart(): Promise<void>;
}

export interface RedisOptions {
  /** Default: a free port. Never 6379 unless you ask for it. */
  port?: number;
  /** Default: a new temp dir (roomcast-redis-XXXX), removed by stop(). A given dir is kept. */
  dataDir?: string;
  /** Append-only file on (fsync every second), so a restart keeps the data. Default true. */
  appendonly?: boolean;
  /** requirepass: clients must AUTH (the handle's url carries it). Default: none (loopback only). */
  password?: string;
}

export async function startRedis(opts: RedisOptions = {}): Promise<RedisHandle> {
  const binary = requireExecutable('redis-server', 'redis-server');
  const port = opts.port ?? (await freePort());
  const ownDir = opts.dataDir === undefined;
  const dataDir = path.resolve(opts.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-redis-'))));
  await mkdir(dataDir, { recursive: true });
  const appendonly = opts.appendonly ?? true;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dataDir,
    '--appendonly', appendonly ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    // No RDB snapshots: the append-only file is the persistence we test.
    '--save', '',
    '--daemonize', 'no',
    ...(opts.password === undefined ? [] : ['--requirepass', opts.password]),
  ];
  const auth = { password: opts.password };
  const output = new OutputTail();

  const launch = async (): Promise<ManagedProcess> => {
    const proc = await spawnGroup(binary, args, { onOutput: (chunk) => output.append(chunk) });
    try {
      await waitUntil(async () => (await redisCommand(port, ['PING'], 1000, auth)) === 'PONG', {
        what: `redis-server on port ${port} to answer PING`,
        abort: () =>
          proc.exitInfo && new Error(`redis-server ${describeExit(proc.exitInfo)} before it was ready:\n${output}`),
      });
    } catch (error) {
      await proc.kill('SIGKILL');
      throw error;
    }
    return proc;
  };

  let proc: ManagedProcess;
  try {
    proc = await launch();
  } catch (error) {
    if (ownDir) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }

  return {
    mode: 'single',
    ...(opts.password === undefined ? {} : { password: opts.password }),
    port,
    url:
      opts.password === undefined
        ? `redis://127.0.0.1:${port}`
        : `redis://:${encodeURIComponent(opts.password)}@127.0.0.1:${port}`,
    get pid() {
      return proc.pid;
    },
    dataDir,
    async stop() {
      await proc.stop({ graceMs: 10_000 });
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
    async restart() {
      await proc.stop({ graceMs: 10_000 });
      proc = await launch();
    },
  };
}
