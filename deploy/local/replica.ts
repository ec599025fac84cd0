/**
 * One chat replica (`node server/dist/main.js`) as a child process, configured
 * only by environment variables, as in production.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import { freePort } from './ports.js';
import { defaultServerEntry } from './paths.js';
import { describeExit, OutputTail, spawnGroup, type ExitInfo, type ManagedProcess } from './process.js';
import { REDIS_ENV_VARIABLES, redisEnv, type RedisTopology } from './topology.js';
import { waitUntil } from './wait.js';

export interface ReplicaHandle {
  nodeId: string;
  port: number;
  url: string;
  pid: number;
  alive: boolean;
  /** Signals the process (default SIGKILL); resolves when it exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** SIGTERM (the server drains), waits for the exit; SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** (Re)starts on the same port; resolves when /healthz answers 200. A no-op while alive. */
  start(): Promise<void>;
  /** The last 256 KiB of the replica's stdout and stderr, across restarts. */
  logs(): string;
  /** Calls `listener` with each output line; returns an unsubscribe function. */
  onLog(listener: (line: string) => void): () => void;
  /** Calls `listener` when the process exits, whatever the reason; returns an unsubscribe function. */
  onExit(listener: (exit: ExitInfo) => void): () => void;
}

export interface ReplicaOptions {
  nodeId: string;
  /** Default: a free port. */
  port?: number;
  /** Absent (and no `redis`): the replica runs on its in-memory broker. Same as `redis: { mode: 'single', url }`. */
  redisUrl?: string;
  /** Where the replica finds Redis, in any mode: REDIS_URL, REDIS_SENTINELS + REDIS_SENTINEL_NAME, or REDIS_CLUSTER_NODES (+ REDIS_PASSWORD). Wins over redisUrl. */
  redis?: RedisTopology;
  secret: string;
  /** Extra environment; wins over everything else (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
  /** Default: <repo>/server/dist/main.js. */
  entry?: string;
  /** How long start() waits for /healthz. Default 15 s. */
  readyTimeoutMs?: number;
}

/**
 * Node flags every replica runs with, here and in the image (deploy/docker/Dockerfile).
 * V8's young generation grows to 2 × 16 MiB while thousands of sockets connect
 * at once and gives the memory back only after a long idle spell; a chat
 * replica keeps little short-lived garbage, so 4 MiB semi-spaces cost no
 * measurable CPU and keep a connection storm from adding ~24 MiB of heap per
 * process (BENCHMARKS.md, memory per idle connection).
 */
export const REPLICA_NODE_OPTIONS = '--max-semi-space-size=4';

/** GET http://127.0.0.1:port/path without keep-alive: the status code. */
export function httpStatus(port: number, urlPath: string, timeoutMs = 1000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.once('error', reject);
  });
}

export async function startReplica(opts: ReplicaOptions): Promise<ReplicaHandle> {
  const entry = opts.entry ?? defaultServerEntry;
  if (!existsSync(entry)) {
    throw new Error(`replica entry ${entry} does not exist: build the server first (npm run build -w server)`);
  }
  const port = opts.port ?? (await freePort());
  const inherited: NodeJS.ProcessEnv = { ...process.env };
  // Only the Redis we were given: an inherited REDIS_URL (or REDIS_CLUSTER_NODES...)
  // must not sneak in, be it next to another mode's settings or instead of none.
  for (const variable of REDIS_ENV_VARIABLES) delete inherited[variable];
  const redis = opts.redis ?? (opts.redisUrl === undefined ? undefined : { mode: 'single' as const, url: opts.redisUrl });
  const env: NodeJS.ProcessEnv = {
    ...inherited,
    PORT: String(port),
    HOST: '127.0.0.1',
    NODE_ID: opts.nodeId,
    ...(redis === undefined ? {} : redisEnv(redis)),
    CHAT_JWT_SECRET: opts.secret,
    // Quiet by default; `LOG_LEVEL=info npm run cluster -- --logs` to see more.
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    ...opts.env,
  };
  // The caller's NODE_OPTIONS come last, so that their flags win.
  env.NODE_OPTIONS = [REPLICA_NODE_OPTIONS, opts.env?.NODE_OPTIONS ?? process.env.NODE_OPTIONS].filter(Boolean).join(' ');

  const tail = new OutputTail(256 * 1024);
  const lineListeners = new Set<(line: string) => void>();
  const exitListeners = new Set<(exit: ExitInfo) => void>();
  let partialLine = '';
  const onOutput = (chunk: string): void => {
    tail.append(chunk);
    if (lineListeners.size === 0) return;
    const lines = (partialLine + chunk).split('\n');
    partialLine = lines.pop() ?? '';
    for (const line of lines) for (const listener of lineListeners) listener(line);
  };

  let proc: ManagedProcess | undefined;
  let starting: Promise<void> | undefined;

  const launch = async (): Promise<void> => {
    const current = await spawnGroup(process.execPath, [entry], { env, onOutput });
    proc = current;
    void current.exited.then((exit) => {
      for (const listener of exitListeners) listener(exit);
    });
    try {
      await waitUntil(async () => (await httpStatus(port, '/healthz')) === 200, {
        what: `replica ${opts.nodeId} on port ${port} to answer GET /healthz with 200`,
        timeoutMs: opts.readyTimeoutMs ?? 15_000,
        abort: () =>
          current.exitInfo && new Error(`replica ${opts.nodeId} ${describeExit(current.exitInfo)} before it was ready`),
      });
    } catch (error) {
      await current.kill('SIGKILL');
      throw new Error(`${(error as Error).message}\n--- replica ${opts.nodeId} output ---\n${tail}`);
    }
  };

  const handle: ReplicaHandle = {
    nodeId: opts.nodeId,
    port,
    url: `http://127.0.0.1:${port}`,
    get pid() {
      return proc?.pid ?? 0;
    },
    get alive() {
      return proc?.alive ?? false;
    },
    async kill(signal = 'SIGKILL') {
      if (proc) await proc.kill(signal);
    },
    async stop() {
      if (proc) await proc.stop({ signal: 'SIGTERM', graceMs: 10_000 });
    },
    start() {
      if (proc?.alive) return starting ?? Promise.resolve();
      starting = launch();
      return starting;
    },
    logs: () => tail.toString(),
    onLog(listener) {
      lineListeners.add(listener);
      return () => lineListeners.delete(listener);
    },
    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },
  };
  await handle.start();
  return handle;
}
