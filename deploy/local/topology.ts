/**
 * The three ways a chat replica reaches Redis, and the environment each one
 * means for a replica. Every launcher's handle is one of these (startRedis:
 * single, startRedisSentinel: sentinel, startRedisCluster: cluster), and so
 * is a test's handle on a shared topology (server/test/support).
 */

/** One redis-server: `REDIS_URL` (the password, when set, is in the URL). */
export interface SingleRedisTopology {
  readonly mode: 'single';
  readonly url: string;
  readonly password?: string;
}

/** A master and replicas watched by Sentinels: `REDIS_SENTINELS` + `REDIS_SENTINEL_NAME`. */
export interface SentinelRedisTopology {
  readonly mode: 'sentinel';
  /** `127.0.0.1:26379,127.0.0.1:26380,...` */
  readonly sentinels: string;
  /** The monitored master's name (`mymaster`). */
  readonly name: string;
  /** The data nodes' password (the Sentinels themselves have none). */
  readonly password?: string;
}

/** A Redis Cluster: `REDIS_CLUSTER_NODES`. */
export interface ClusterRedisTopology {
  readonly mode: 'cluster';
  /** `127.0.0.1:7000,127.0.0.1:7001,...` (every node: any of them is a seed). */
  readonly seeds: string;
  readonly password?: string;
}

export type RedisTopology = SingleRedisTopology | SentinelRedisTopology | ClusterRedisTopology;
export type RedisMode = RedisTopology['mode'];

/** Every variable that points a replica at Redis: set by redisEnv, never inherited. */
export const REDIS_ENV_VARIABLES = [
  'REDIS_URL',
  'REDIS_SENTINELS',
  'REDIS_SENTINEL_NAME',
  'REDIS_CLUSTER_NODES',
  'REDIS_PASSWORD',
] as const;

/** The environment that points a chat replica at `topology`. */
export function redisEnv(topology: RedisTopology): Record<string, string> {
  const password: Record<string, string> = topology.password === undefined ? {} : { REDIS_PASSWORD: topology.password };
  switch (topology.mode) {
    case 'single':
      // The URL already carries the password (redis://:pw@host:port).
      return { REDIS_URL: topology.url };
    case 'sentinel':
      return { REDIS_SENTINELS: topology.sentinels, REDIS_SENTINEL_NAME: topology.name, ...password };
    case 'cluster':
      return { REDIS_CLUSTER_NODES: topology.seeds, ...password };
  }
}

/** `127.0.0.1:7000,...` → [7000, ...] (loopback lists only, as the launchers write them). */
export function seedPorts(list: string): number[] {
  return list.split(',').map((entry) => {
    const port = Number(entry.trim().split(':').pop());
    if (!Number.isInteger(port) || port <= 0) throw new Error(`not a host:port list: ${list}`);
    return port;
  });
}
