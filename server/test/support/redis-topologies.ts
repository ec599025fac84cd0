/**
 * The run's shared Redis Cluster (3 masters + 3 replicas) and Sentinel set
 * (master + replica + 3 Sentinels), for test files. They are started once per
 * `vitest run` by test/support/shared-redis.ts (a globalSetup), on first use,
 * and live in vitest's main process; a test file drives them through that
 * process (deploy/local/shared-topologies.ts), so what it kills and restarts
 * outlives the file's worker.
 *
 *   const redis = useSharedCluster();                    // or useSharedSentinel()
 *   beforeAll(async () => {
 *     cluster = await startCluster({ redisTopology: redis.topology, env: { ...FAST_PRESENCE } });
 *   });
 *   afterAll(() => cluster?.stop());                     // leaves the shared Redis running
 *   it('survives a master crash', async () => {
 *     const master = await redis.topology.masterFor('{lobby}');
 *     await redis.topology.kill(master);                  // SIGKILL
 *     await redis.topology.waitForFailover(master);
 *     await redis.topology.restart(master);               // back as a replica, cluster_state:ok
 *   });
 *
 * Each file gets the topology healed (every process alive, replicas in sync)
 * and flushed, whatever the previous file did. Use keys with hash tags
 * ({room}); the data nodes require the password in `topology.password`,
 * which startCluster passes to the replicas as REDIS_PASSWORD.
 */
import type { AcquireOptions, SharedRedisCluster, SharedRedisSentinel, SharedTopologiesInfo } from '@roomcast/deploy/local';
import { connectSharedTopologies } from '@roomcast/deploy/local';
import { afterAll, beforeAll, inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The control endpoint of the run's shared Redis topologies (test/support/shared-redis.ts). */
    sharedRedis: SharedTopologiesInfo;
  }
}

function sharedInfo(): SharedTopologiesInfo {
  const info = inject('sharedRedis');
  if (!info) throw new Error("no shared Redis: add 'test/support/shared-redis.ts' to globalSetup in server/vitest.config.ts");
  return info;
}

/** The shared Redis Cluster, healed and (by default) flushed. Call from a hook or a test. */
export function sharedCluster(opts?: AcquireOptions): Promise<SharedRedisCluster> {
  return connectSharedTopologies(sharedInfo()).cluster(opts);
}

/** The shared Sentinel set, healed and (by default) flushed. Call from a hook or a test. */
export function sharedSentinel(opts?: AcquireOptions): Promise<SharedRedisSentinel> {
  return connectSharedTopologies(sharedInfo()).sentinel(opts);
}

export interface SharedTopologyHandle<T> {
  /** Set by the helper's beforeAll; read it from hooks and tests only. */
  readonly topology: T;
}

function useShared<T extends { heal(): Promise<void> }>(acquire: () => Promise<T>, what: string): SharedTopologyHandle<T> {
  let topology: T | undefined;
  beforeAll(async () => {
    topology = await acquire();
  });
  // Whatever a test killed comes back before the next file (acquire would
  // heal it too; here a file that breaks the topology for good fails itself).
  afterAll(async () => {
    await topology?.heal();
  });
  return {
    get topology(): T {
      if (!topology) throw new Error(`the shared ${what} is not acquired yet (use it from hooks and tests only)`);
      return topology;
    },
  };
}

/**
 * Registers the hooks: acquire the shared Cluster before all tests of the
 * file, heal it after all. Call at the top level of the file, before hooks
 * that use it (vitest runs beforeAll hooks in order of registration).
 */
export function useSharedCluster(opts?: AcquireOptions): SharedTopologyHandle<SharedRedisCluster> {
  return useShared(() => sharedCluster(opts), 'Redis Cluster');
}

/** The same for the shared Sentinel set. */
export function useSharedSentinel(opts?: AcquireOptions): SharedTopologyHandle<SharedRedisSentinel> {
  return useShared(() => sharedSentinel(opts), 'Sentinel set');
}
