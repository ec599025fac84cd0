/**
 * The whole local topology: Redis, N replicas n1..nN, and nginx in front, all
 * on loopback ports picked at runtime. Redis is one redis-server (append-only
 * file on) by default, or a Sentinel set, or a Redis Cluster
 * (`redis: 'sentinel' | 'cluster'`), or one that already runs
 * (`redisTopology`: a shared test topology, left running by stop()).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startNginx, type NginxHandle } from './nginx.js';
import { defaultWebRoot } from './paths.js';
import { startRedisCluster, type RedisClusterHandle, type RedisClusterOptions } from './redis-cluster.js';
import { startRedisSentinel, type RedisSentinelHandle, type RedisSentinelOptions } from './redis-sentinel.js';
import { startRedis, type RedisHandle } from './redis.js';
import { startReplica, type ReplicaHandle } from './replica.js';
import type { RedisMode, RedisTopology } from './topology.js';

/** A Redis the launcher starts itself, by mode. */
export type LocalRedis = RedisHandle | RedisSentinelHandle | RedisClusterHandle;

export interface Cluster<T extends RedisTopology = RedisTopology> {
  /** http://127.0.0.1:<nginx port> */
  url: string;
  /** ws://127.0.0.1:<nginx port>/ws */
  wsUrl: string;
  /** CHAT_JWT_SECRET shared by the replicas. */
  secret: string;
  /** The one redis-server, in single mode. In the other modes it throws: use redisTopology. */
  readonly redis: RedisHandle;
  /** What the replicas were pointed at: the handle of the Redis started here (RedisHandle, RedisSentinelHandle, RedisClusterHandle) or the topology passed in. */
  redisTopology: T;
  /** False when the topology was passed in: stop() leaves it running. */
  ownsRedis: boolean;
  nginx: NginxHandle;
  replicas: ReplicaHandle[];
  /** Holds redis/ (or redis-sentinel/, redis-cluster/) and nginx/ (config, logs). */
  dir: string;
  /** Tears everything down (but a topology passed in); safe to call more than once. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Default 3. */
  replicas?: number;
  /** Extra environment for every replica. */
  env?: Record<string, string>;
  /** Default: <repo>/web/dist when it exists. */
  webRoot?: string;
  /** Default: a new temp dir (roomcast-cluster-XXXX), removed by stop(). A given dir is kept. */
  dir?: string;
  /** nginx worker_processes. Default 1. */
  workers?: number;
  /** nginx port. Default: a free port. */
  port?: number;
  /** Replica entry point. Default: <repo>/server/dist/main.js. */
  entry?: string;
  /**
   * Which Redis to start: 'single' (default) one redis-server, replicas get
   * REDIS_URL; 'sentinel' a master, a replica and three Sentinels, replicas get
   * REDIS_SENTINELS + REDIS_SENTINEL_NAME; 'cluster' three masters and three
   * replicas, replicas get REDIS_CLUSTER_NODES.
   */
  redis?: RedisMode;
  /** The password of the Redis started here: in REDIS_URL (single) or REDIS_PASSWORD (sentinel, cluster). */
  redisPassword?: string;
  /** Options of the Redis Cluster started in 'cluster' mode (dir and password are set here). */
  redisCluster?: Omit<RedisClusterOptions, 'dir' | 'password'>;
  /** Options of the Sentinel set started in 'sentinel' mode (dir and password are set here). */
  redisSentinel?: Omit<RedisSentinelOptions, 'dir' | 'password'>;
  /**
   * A Redis that already runs, instead of starting one: a launcher handle or
   * a shared test topology (server/test/support/redis-topologies.ts). Its
   * mode decides the replicas' variables; stop() does not stop it.
   */
  redisTopology?: RedisTopology;
}

/** <repo>/web/dist when the web client has been built, else undefined. */
export function builtWebRoot(): string | undefined {
  return existsSync(path.join(defaultWebRoot, 'index.html')) ? defaultWebRoot : undefined;
}

export function startCluster<T extends RedisTopology>(opts: ClusterOptions & { redisTopology: T }): Promise<Cluster<T>>;
export function startCluster(opts: ClusterOptions & { redis: 'cluster'; redisTopology?: undefined }): Promise<Cluster<RedisClusterHandle>>;
export function startCluster(opts: ClusterOptions & { redis: 'sentinel'; redisTopology?: undefined }): Promise<Cluster<RedisSentinelHandle>>;
export function startCluster(opts?: ClusterOptions & { redis?: 'single'; redisTopology?: undefined }): Promise<Cluster<RedisHandle>>;
export function startCluster(opts: ClusterOptions & { redisTopology?: undefined }): Promise<Cluster<LocalRedis>>;
export function startCluster(opts?: ClusterOptions): Promise<Cluster>;
export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const replicaCount = opts.replicas ?? 3;
  if (!Number.isInteger(replicaCount) || replicaCount < 1) throw new Error(`replicas must be ≥ 1, got ${replicaCount}`);
  if (opts.redisTopology && opts.redis && opts.redis !== opts.redisTopology.mode) {
    throw new Error(`redis: '${opts.redis}' but the redisTopology passed in is a ${opts.redisTopology.mode} one`);
  }
  const mode: RedisMode = opts.redisTopology?.mode ?? opts.redis ?? 'single';
  const ownDir = opts.dir === undefined;
  const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-cluster-'))));
  await mkdir(dir, { recursive: true });
  // nginx workers run as nobody when we are root: they must reach nginx/.
  await chmod(dir, 0o755);
  const webRoot = opts.webRoot ?? builtWebRoot();
  const secret = randomBytes(32).toString('hex');

  // Everything started so far, stopped in reverse order on failure or stop().
  const started: Array<() => Promise<void>> = [];
  const teardown = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of started.reverse()) await stop().catch((error: unknown) => errors.push(error));
    started.length = 0;
    if (ownDir) await rm(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, 'some cluster processes did not stop cleanly');
  };

  /** Starts the Redis of `mode`; a Cluster or Sentinel set starts fresh each time (their nodes.conf and roles are tied to ports picked now). */
  const startOwnRedis = async (): Promise<LocalRedis> => {
    const password = opts.redisPassword;
    switch (mode) {
      case 'single':
        return startRedis({ dataDir: path.join(dir, 'redis'), appendonly: true, password });
      case 'sentinel': {
        const sentinelDir = path.join(dir, 'redis-sentinel');
        await rm(sentinelDir, { recursive: true, force: true });
        return startRedisSentinel({ ...opts.redisSentinel, dir: sentinelDir, password });
      }
      case 'cluster': {
        const clusterDir = path.join(dir, 'redis-cluster');
        await rm(clusterDir, { recursive: true, force: true });
        return startRedisCluster({ ...opts.redisCluster, dir: clusterDir, password });
      }
    }
  };

  try {
    let topology: RedisTopology;
    if (opts.redisTopology) {
      topology = opts.redisTopology;
    } else {
      const own = await startOwnRedis();
      started.push(() => own.stop());
      topology = own;
    }

    const replicas: ReplicaHandle[] = [];
    // Replicas stop before redis (they say goodbye to it) and nginx stops first.
    const stopReplicas = async (): Promise<void> => {
      await Promise.all(replicas.map((replica) => replica.stop()));
    };
    started.push(stopReplicas);
    const results = await Promise.allSettled(
      Array.from({ length: replicaCount }, (_, i) =>
        startReplica({ nodeId: `n${i + 1}`, redis: topology, secret, env: opts.env, entry: opts.entry }),
      ),
    );
    for (const result of results) if (result.status === 'fulfilled') replicas.push(result.value);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;

    const nginx = await startNginx({
      upstreams: replicas.map((replica) => replica.port),
      port: opts.port,
      webRoot,
      workers: opts.workers ?? 1,
      runDir: path.join(dir, 'nginx'),
    });
    started.push(() => nginx.stop());

    let stopping: Promise<void> | undefined;
    return {
      url: nginx.url,
      wsUrl: `ws://127.0.0.1:${nginx.port}/ws`,
      secret,
      get redis(): RedisHandle {
        if (topology.mode === 'single' && 'restart' in topology) return topology as RedisHandle;
        throw new Error(`cluster.redis is the single redis-server; this cluster runs on a ${topology.mode} topology: use cluster.redisTopology`);
      },
      redisTopology: topology,
      ownsRedis: opts.redisTopology === undefined,
      nginx,
      replicas,
      dir,
      stop: () => (stopping ??= teardown()),
    };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}
