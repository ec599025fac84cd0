/**
 * One Redis Cluster and one Sentinel set shared by every test file of a run.
 *
 * The processes belong to one long-lived process (a vitest globalSetup):
 * test files run in worker processes that exit after each file, and a
 * redis-server started by a worker would die with it (process.ts kills its
 * groups on exit). So the owner serves a tiny HTTP control endpoint on
 * loopback, and test files drive the topologies through it: kill and
 * restart a node, wait for a failover, heal, flush. Killing by pid from the
 * worker would work too, but restarting would not; one way for both.
 *
 *   owner:  const served = await serveSharedTopologies({ password });   // info is JSON: provide() it
 *   test:   const cluster = await connectSharedTopologies(info).cluster();
 *           startCluster({ redisTopology: cluster })                      // replicas on the shared Cluster
 *
 * Each topology starts on first use (so a run that needs neither starts
 * nothing) and is healed (dead processes restarted, replicas in sync) and
 * flushed each time a test file acquires it, so every file starts from a
 * healthy, empty topology whatever the previous file did.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startRedisCluster, type RedisClusterHandle, type RedisClusterOptions } from './redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle, type RedisSentinelOptions } from './redis-sentinel.js';
import type { ClusterRedisTopology, SentinelRedisTopology } from './topology.js';

/** What the owner hands test files (JSON, for vitest's provide/inject). */
export interface SharedTopologiesInfo {
  /** http://127.0.0.1:<port> of the control endpoint. */
  url: string;
  /** Sent as a bearer token: only our test files drive the topologies. */
  token: string;
}

export interface SharedNodeState {
  port: number;
  pid: number;
  alive: boolean;
  role: 'master' | 'replica' | 'sentinel';
}

export interface SharedClusterState {
  mode: 'cluster';
  seeds: string;
  password?: string;
  nodeTimeoutMs: number;
  nodes: SharedNodeState[];
  /** How long the start took (ms), for the run's report. */
  startedInMs: number;
}

export interface SharedSentinelState {
  mode: 'sentinel';
  sentinels: string;
  name: string;
  password?: string;
  dataNodes: SharedNodeState[];
  sentinelNodes: SharedNodeState[];
  startedInMs: number;
}

export interface ServeOptions {
  /** The data nodes' password in both topologies (REDIS_PASSWORD for the replicas). Default: none. */
  password?: string;
  cluster?: Omit<RedisClusterOptions, 'password'>;
  sentinel?: Omit<RedisSentinelOptions, 'password'>;
}

export interface SharedTopologiesServer {
  info: SharedTopologiesInfo;
  /** Start times of the topologies started so far (ms). */
  startTimes(): { cluster?: number; sentinel?: number };
  /** Closes the endpoint and stops whatever was started. */
  close(): Promise<void>;
}

type Args = unknown[];

/** What both topologies answer the same way: acquiring, failover, health, healing, flushing. */
interface Lifecycle {
  waitForFailover(port: number, timeoutMs?: number): Promise<number>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  heal(timeoutMs?: number): Promise<void>;
  flushAll(): Promise<void>;
}

function lifecycleMethods(get: () => Promise<Lifecycle>, state: () => Promise<unknown>): Record<string, (args: Args) => Promise<unknown>> {
  return {
    /** A file takes the topology: healed, flushed unless asked not to, and described. */
    async acquire([flush]) {
      const topology = await get();
      await topology.heal();
      if (flush !== false) await topology.flushAll();
      return state();
    },
    async waitForFailover([port, timeoutMs]) {
      return (await get()).waitForFailover(num(port, 'port'), optNum(timeoutMs, 'timeoutMs'));
    },
    async waitHealthy([timeoutMs]) {
      await (await get()).waitHealthy(optNum(timeoutMs, 'timeoutMs'));
      return null;
    },
    async heal([timeoutMs]) {
      await (await get()).heal(optNum(timeoutMs, 'timeoutMs'));
      return null;
    },
    async flushAll() {
      await (await get()).flushAll();
      return null;
    },
  };
}

const num = (value: unknown, what: string): number => {
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new Error(`${what} must be an integer, got ${JSON.stringify(value)}`);
  return value;
};
const optNum = (value: unknown, what: string): number | undefined => (value === undefined || value === null ? undefined : num(value, what));
const signal = (value: unknown): NodeJS.Signals => {
  if (value === undefined || value === null) return 'SIGKILL';
  if (typeof value !== 'string' || !/^SIG[A-Z0-9]+$/.test(value)) throw new Error(`not a signal: ${JSON.stringify(value)}`);
  return value as NodeJS.Signals;
};

function clusterState(handle: RedisClusterHandle, startedInMs: number): SharedClusterState {
  return {
    mode: 'cluster',
    seeds: handle.seeds,
    ...(handle.password === undefined ? {} : { password: handle.password }),
    nodeTimeoutMs: handle.nodeTimeoutMs,
    nodes: handle.nodes.map((n) => ({ port: n.port, pid: n.pid, alive: n.alive, role: n.role })),
    startedInMs,
  };
}

function sentinelState(handle: RedisSentinelHandle, startedInMs: number): SharedSentinelState {
  return {
    mode: 'sentinel',
    sentinels: handle.sentinels,
    name: handle.name,
    ...(handle.password === undefined ? {} : { password: handle.password }),
    dataNodes: handle.dataNodes.map((n) => ({ port: n.port, pid: n.pid, alive: n.alive, role: n.role })),
    sentinelNodes: handle.sentinelNodes.map((n) => ({ port: n.port, pid: n.pid, alive: n.alive, role: 'sentinel' as const })),
    startedInMs,
  };
}

/** Starts the control endpoint; the topologies start on first use. */
export async function serveSharedTopologies(opts: ServeOptions = {}): Promise<SharedTopologiesServer> {
  const token = randomBytes(16).toString('hex');
  let cluster: Promise<{ handle: RedisClusterHandle; ms: number }> | undefined;
  let sentinel: Promise<{ handle: RedisSentinelHandle; ms: number }> | undefined;
  const times: { cluster?: number; sentinel?: number } = {};
  const timed = async <T>(kind: 'cluster' | 'sentinel', start: () => Promise<T>): Promise<{ handle: T; ms: number }> => {
    const t0 = performance.now();
    const handle = await start();
    const ms = Math.round(performance.now() - t0);
    times[kind] = ms;
    return { handle, ms };
  };
  const getCluster = (): Promise<{ handle: RedisClusterHandle; ms: number }> => {
    cluster ??= timed('cluster', () => startRedisCluster({ ...opts.cluster, password: opts.password }));
    // A failed start is not cached: the next file tries again.
    cluster.catch(() => (cluster = undefined));
    return cluster;
  };
  const getSentinel = (): Promise<{ handle: RedisSentinelHandle; ms: number }> => {
    sentinel ??= timed('sentinel', () => startRedisSentinel({ ...opts.sentinel, password: opts.password }));
    sentinel.catch(() => (sentinel = undefined));
    return sentinel;
  };

  const clusterMethods: Record<string, (args: Args) => Promise<unknown>> = {
    async state() {
      const { handle, ms } = await getCluster();
      await handle.refresh().catch(() => undefined);
      return clusterState(handle, ms);
    },
    async masterFor([slotOrKey]) {
      if (typeof slotOrKey !== 'number' && typeof slotOrKey !== 'string') throw new Error('masterFor takes a slot or a key');
      return (await getCluster()).handle.masterFor(slotOrKey);
    },
    async kill([port, sig]) {
      await (await getCluster()).handle.node(num(port, 'port')).kill(signal(sig));
      return null;
    },
    async restart([port]) {
      await (await getCluster()).handle.node(num(port, 'port')).restart();
      return null;
    },
    ...lifecycleMethods(async () => (await getCluster()).handle, async () => {
      const { handle, ms } = await getCluster();
      return clusterState(handle, ms);
    }),
  };

  const sentinelNode = (handle: RedisSentinelHandle, port: number) => {
    const node = [...handle.dataNodes, ...handle.sentinelNodes].find((n) => n.port === port);
    if (!node) throw new Error(`${port} is not a process of the shared Sentinel set`);
    return node;
  };
  const sentinelMethods: Record<string, (args: Args) => Promise<unknown>> = {
    async state() {
      const { handle, ms } = await getSentinel();
      return sentinelState(handle, ms);
    },
    async master() {
      return (await getSentinel()).handle.master();
    },
    async killMaster() {
      return (await getSentinel()).handle.killMaster();
    },
    async kill([port, sig]) {
      await sentinelNode((await getSentinel()).handle, num(port, 'port')).kill(signal(sig));
      return null;
    },
    async restart([port]) {
      await sentinelNode((await getSentinel()).handle, num(port, 'port')).restart();
      return null;
    },
    ...lifecycleMethods(async () => (await getSentinel()).handle, async () => {
      const { handle, ms } = await getSentinel();
      return sentinelState(handle, ms);
    }),
  };
  const routes: Record<string, Record<string, (args: Args) => Promise<unknown>>> = { cluster: clusterMethods, sentinel: sentinelMethods };

  const server = http.createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.headers.authorization !== `Bearer ${token}`) return reply(401, { error: 'bad token' });
    const [, kind = '', method = ''] = (req.url ?? '').split('/');
    const handler = req.method === 'POST' ? routes[kind]?.[method] : undefined;
    if (!handler) return reply(404, { error: `no ${req.method} /${kind}/${method}` });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      let args: Args;
      try {
        const parsed: unknown = body === '' ? [] : JSON.parse(body);
        if (!Array.isArray(parsed)) throw new Error('the body must be a JSON array of arguments');
        args = parsed;
      } catch (error) {
        return reply(400, { error: (error as Error).message });
      }
      handler(args).then(
        (result) => reply(200, { result: result ?? null }),
        (error: unknown) => reply(500, { error: error instanceof Error ? error.message : String(error) }),
      );
    });
  });
  // Failovers and heals take seconds: no socket timeout on our side.
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    info: { url: `http://127.0.0.1:${port}`, token },
    startTimes: () => ({ ...times }),
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      const stops = [cluster, sentinel].map(async (started) => {
        if (!started) return;
        const { handle } = await started.catch(() => ({ handle: undefined }));
        await handle?.stop();
      });
      await Promise.all(stops);
    },
  };
}

/* ----------------------------- the test files' side ----------------------------- */

async function call<T>(info: SharedTopologiesInfo, kind: 'cluster' | 'sentinel', method: string, args: unknown[] = []): Promise<T> {
  const res = await fetch(`${info.url}/${kind}/${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  const body = (await res.json()) as { result?: T; error?: string };
  if (res.status !== 200) throw new Error(`shared ${kind} ${method}: ${body.error ?? res.status}`);
  return body.result as T;
}

/** The shared Redis Cluster, driven from a test file. Pass it to startCluster({ redisTopology }). */
export interface SharedRedisCluster extends ClusterRedisTopology {
  readonly nodeTimeoutMs: number;
  /** Every node's port, pid, liveness and role, asked now. */
  nodes(): Promise<SharedNodeState[]>;
  masterFor(slotOrKey: number | string): Promise<number>;
  /** Signals a node (default SIGKILL); resolves when it exited. */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a node again; resolves once it rejoined (as a replica, if it was failed over). */
  restart(port: number): Promise<void>;
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<number>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Restarts dead nodes, waits until healthy. Call it when a test killed something and did not restart it. */
  heal(timeoutMs?: number): Promise<void>;
  flushAll(): Promise<void>;
}

/** The shared Sentinel set, driven from a test file. Pass it to startCluster({ redisTopology }). */
export interface SharedRedisSentinel extends SentinelRedisTopology {
  dataNodes(): Promise<SharedNodeState[]>;
  sentinelNodes(): Promise<SharedNodeState[]>;
  master(): Promise<number>;
  /** kill -9 of the current master; resolves with its port. */
  killMaster(): Promise<number>;
  /** Signals a data node or a Sentinel (default SIGKILL). */
  kill(port: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a data node or Sentinel again; resolves when the set is healthy (an old master comes back as a replica). */
  restart(port: number): Promise<void>;
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  waitHealthy(timeoutMs?: number): Promise<void>;
  heal(timeoutMs?: number): Promise<void>;
  flushAll(): Promise<void>;
}

export interface AcquireOptions {
  /** FLUSHALL first. Default true: each file starts with an empty topology. */
  flush?: boolean;
}

export function connectSharedTopologies(info: SharedTopologiesInfo): {
  /** Starts the shared Cluster on first use; heals (and flushes) it; resolves with its handle. */
  cluster(opts?: AcquireOptions): Promise<SharedRedisCluster>;
  /** Starts the shared Sentinel set on first use; heals (and flushes) it; resolves with its handle. */
  sentinel(opts?: AcquireOptions): Promise<SharedRedisSentinel>;
} {
  return {
    async cluster(opts = {}) {
      const state = await call<SharedClusterState>(info, 'cluster', 'acquire', [opts.flush ?? true]);
      const c = <T>(method: string, args: unknown[] = []): Promise<T> => call<T>(info, 'cluster', method, args);
      return {
        mode: 'cluster',
        seeds: state.seeds,
        ...(state.password === undefined ? {} : { password: state.password }),
        nodeTimeoutMs: state.nodeTimeoutMs,
        nodes: async () => (await c<SharedClusterState>('state')).nodes,
        masterFor: (slotOrKey) => c('masterFor', [slotOrKey]),
        kill: (port, sig = 'SIGKILL') => c('kill', [port, sig]),
        restart: (port) => c('restart', [port]),
        waitForFailover: (port, timeoutMs) => c('waitForFailover', [port, timeoutMs]),
        waitHealthy: (timeoutMs) => c('waitHealthy', [timeoutMs]),
        heal: (timeoutMs) => c('heal', [timeoutMs]),
        flushAll: () => c('flushAll'),
      };
    },
    async sentinel(opts = {}) {
      const state = await call<SharedSentinelState>(info, 'sentinel', 'acquire', [opts.flush ?? true]);
      const c = <T>(method: string, args: unknown[] = []): Promise<T> => call<T>(info, 'sentinel', method, args);
      return {
        mode: 'sentinel',
        sentinels: state.sentinels,
        name: state.name,
        ...(state.password === undefined ? {} : { password: state.password }),
        dataNodes: async () => (await c<SharedSentinelState>('state')).dataNodes,
        sentinelNodes: async () => (await c<SharedSentinelState>('state')).sentinelNodes,
        master: () => c('master'),
        killMaster: () => c('killMaster'),
        kill: (port, sig = 'SIGKILL') => c('kill', [port, sig]),
        restart: (port) => c('restart', [port]),
        waitForFailover: (port, timeoutMs) => c('waitForFailover', [port, timeoutMs]),
        waitHealthy: (timeoutMs) => c('waitHealthy', [timeoutMs]),
        heal: (timeoutMs) => c('heal', [timeoutMs]),
        flushAll: () => c('flushAll'),
      };
    },
  };
}
