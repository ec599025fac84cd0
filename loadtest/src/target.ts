/**
 * What a scenario runs against: a URL given by the user, or a local cluster
 * (Roomcast or a peer, see peer.ts) that the tool launches and stops itself.
 * A launched cluster also gives the pids whose CPU and memory are measured.
 */
import { startCluster, type RedisClusterHandle, type ReplicaHandle } from '@roomcast/deploy/local';
import { startPeerCluster } from './peer.js';
import { parsePids, type PidGroups } from './procstat.js';
import { RoomcastTransport } from './roomcast.js';
import { SocketIoTransport } from './socketio.js';
import type { Transport } from './transport.js';

/** `floor` speaks the Roomcast wire contract but promises no order (see peer/floor-server.ts). */
export type Stack = 'roomcast' | 'socketio' | 'floor';

export const stackNames: Record<Stack, string> = { roomcast: 'Roomcast', socketio: 'Socket.IO peer', floor: 'floor peer' };

/** What a launched Roomcast cluster runs on: one redis-server, or a Redis Cluster of 3 masters + 3 replicas. */
export type RedisLayout = 'single' | 'cluster';

/** One measured process: its own name (n1, s2, nginx) and its group (replicas, nginx, redis, redis-replicas). */
export interface ProcessRef {
  name: string;
  group: string;
  pid: number;
}

/**
 * A Redis master and the hash slots it serves: one for a single server (every
 * slot), one per master in a Cluster. Named s1, s2... in slot order, so that
 * the same name means the same slots from one launch to the next.
 */
export interface RedisShard {
  name: string;
  port: number;
  /** Inclusive slot ranges. */
  slots: Array<[number, number]>;
}

export function transportFor(stack: Stack, url: string, secret?: string): Transport {
  if (stack === 'socketio') return new SocketIoTransport(url);
  return stack === 'floor' ? new RoomcastTransport(url, undefined, false) : new RoomcastTransport(url, secret);
}

export interface Target {
  stack: Stack;
  url: string;
  transport: Transport;
  /** True when this tool started the servers (and will stop them). */
  launched: boolean;
  /** Current pids by group (replicas, nginx, redis), when known. */
  pidGroups: (() => PidGroups) | undefined;
  /** The launched replicas (chaos kills one). */
  replicas: ReplicaHandle[];
  /** Each launched process on its own (per-replica and per-shard CPU), when known. */
  processes?: () => ProcessRef[];
  /** The Redis masters and their slots, when the tool launched them. */
  redisShards?: RedisShard[];
  /** What a launched cluster's Redis is. */
  redisLayout?: RedisLayout;
  stop(): Promise<void>;
}

export interface TargetOptions {
  stack: Stack;
  /** http://host:port of an existing deployment; absent: launch a local cluster. */
  url?: string;
  /** --pids for a URL target. */
  pids?: string;
  /** --secret: CHAT_JWT_SECRET of a URL target, to mint tokens instead of logging in. */
  secret?: string;
  replicas: number;
  /** nginx worker processes of a launched cluster. */
  workers: number;
  /** Extra environment for launched Roomcast replicas. */
  env: Record<string, string>;
  /** Entry point of launched Roomcast replicas; default server/dist/main.js. */
  entry?: string;
  /** Redis of a launched Roomcast cluster (default single); the peers run on one redis-server only. */
  redis?: RedisLayout;
}

export async function openTarget(opts: TargetOptions): Promise<Target> {
  if (opts.url) {
    const url = opts.url.replace(/\/+$/, '');
    const groups = opts.pids ? parsePids(opts.pids) : undefined;
    return {
      stack: opts.stack,
      url,
      transport: transportFor(opts.stack, url, opts.secret),
      launched: false,
      pidGroups: groups ? () => groups : undefined,
      replicas: [],
      stop: async () => undefined,
    };
  }
  if (opts.stack !== 'roomcast') {
    if (opts.redis === 'cluster') throw new Error(`the ${stackNames[opts.stack]} runs on one redis-server only: a Redis Cluster is Roomcast's alone`);
    const peer = await startPeerCluster({ peer: opts.stack, replicas: opts.replicas, workers: opts.workers });
    return onOneRedis(opts.stack, peer, transportFor(opts.stack, peer.url));
  }
  if (opts.redis === 'cluster') {
    const cluster = await startCluster({ replicas: opts.replicas, workers: opts.workers, env: opts.env, entry: opts.entry, redis: 'cluster' });
    try {
      const shards = await clusterShards(cluster.redisTopology);
      const masters = new Set(shards.map((s) => s.port));
      const redisNodes = cluster.redisTopology.nodes;
      const nodeProcesses = (): ProcessRef[] =>
        redisNodes
          .filter((n) => n.alive)
          .map((n) =>
            masters.has(n.port)
              ? { name: shards.find((s) => s.port === n.port)!.name, group: 'redis', pid: n.pid }
              : { name: `r${n.port}`, group: 'redis-replicas', pid: n.pid },
          );
      return {
        stack: 'roomcast',
        url: cluster.url,
        transport: transportFor('roomcast', cluster.url, cluster.secret),
        launched: true,
        pidGroups: () => {
          const groups: PidGroups = { replicas: cluster.replicas.filter((r) => r.alive).map((r) => r.pid), nginx: [cluster.nginx.pid], redis: [], 'redis-replicas': [] };
          for (const p of nodeProcesses()) groups[p.group]!.push(p.pid);
          return groups;
        },
        processes: () => [
          ...cluster.replicas.filter((r) => r.alive).map((r) => ({ name: r.nodeId, group: 'replicas', pid: r.pid })),
          { name: 'nginx', group: 'nginx', pid: cluster.nginx.pid },
          ...nodeProcesses(),
        ],
        redisShards: shards,
        redisLayout: 'cluster',
        replicas: cluster.replicas,
        stop: () => cluster.stop(),
      };
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }
  const cluster = await startCluster({ replicas: opts.replicas, workers: opts.workers, env: opts.env, entry: opts.entry });
  return onOneRedis('roomcast', cluster, transportFor('roomcast', cluster.url, cluster.secret));
}

/** What a launcher on one redis-server hands back (Roomcast's and the peers' alike). */
interface OneRedisLaunch {
  url: string;
  replicas: ReplicaHandle[];
  nginx: { pid: number };
  redis: { pid: number; port: number };
  stop(): Promise<void>;
}

/** A launched stack on one redis-server: its replicas, nginx, and that server as shard s1 (every slot). */
function onOneRedis(stack: Stack, launched: OneRedisLaunch, transport: Transport): Target {
  const replicas = () => launched.replicas.filter((r) => r.alive);
  return {
    stack,
    url: launched.url,
    transport,
    launched: true,
    pidGroups: () => ({ replicas: replicas().map((r) => r.pid), nginx: [launched.nginx.pid], redis: [launched.redis.pid] }),
    processes: () => [
      ...replicas().map((r) => ({ name: r.nodeId, group: 'replicas', pid: r.pid })),
      { name: 'nginx', group: 'nginx', pid: launched.nginx.pid },
      { name: 's1', group: 'redis', pid: launched.redis.pid },
    ],
    redisShards: [{ name: 's1', port: launched.redis.port, slots: [[0, 16383]] }],
    redisLayout: 'single',
    replicas: launched.replicas,
    stop: () => launched.stop(),
  };
}

/** The masters of a Redis Cluster with their slots, named s1, s2... by their first slot. */
async function clusterShards(handle: RedisClusterHandle): Promise<RedisShard[]> {
  const views = await handle.refresh();
  return views
    .filter((v) => v.flags.includes('master') && v.slots.length > 0)
    .sort((a, b) => a.slots[0]![0] - b.slots[0]![0])
    .map((v, i) => ({ name: `s${i + 1}`, port: v.port, slots: v.slots }));
}

/**
 * Reports launched replicas that exit while a scenario runs, unless the
 * scenario said it would kill them (chaos). Returns the expect and stop hooks.
 */
export function watchReplicas(target: Target, report: (what: string) => void): { expect(nodeId: string): void; stop(): void } {
  const expected = new Set<string>();
  const offs = target.replicas.map((r) =>
    r.onExit((exit) => {
      if (expected.delete(r.nodeId)) return;
      report(`replica ${r.nodeId} exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}): was it stopped from outside?`);
    }),
  );
  return {
    expect: (nodeId) => expected.add(nodeId),
    stop: () => offs.forEach((off) => off()),
  };
}
