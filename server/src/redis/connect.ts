import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { RedisTarget } from '../config.js';

/** A command connection: one server (single, Sentinel) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  commandTimeoutMs?: number;
  /** The connection's name in CLIENT LIST (which replica, which job). */
  connectionName?: string;
}

/**
 * Options of every connection: fail fast while Redis is unreachable instead
 * of queueing commands (a chat send must get an answer, not wait for an
 * outage to end); ioredis keeps reconnecting in the background.
 */
function baseOptions(target: RedisTarget, options: ConnectOptions): RedisOptions {
  const base: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    lazyConnect: false,
    commandTimeout: options.commandTimeoutMs,
  };
  if (options.connectionName) base.connectionName = options.connectionName;
  if (target.username) base.username = target.username;
  if (target.password) base.password = target.password;
  if (target.tls) base.tls = {};
  return base;
}

/** One connection to the server (single or Sentinel mode) with these extra options. */
export function connectServer(target: RedisTarget, options: ConnectOptions & RedisOptions = {}): Redis {
  const { commandTimeoutMs, connectionName, ...extra } = options;
  const base = { ...baseOptions(target, { commandTimeoutMs, connectionName }), ...extra };
  switch (target.mode) {
    case 'single':
      // The URL's own credentials and TLS (rediss://) win over REDIS_PASSWORD / REDIS_TLS.
      return new Redis(target.url, base);
    case 'sentinel':
      return new Redis({ ...base, sentinels: target.sentinels, name: target.name, sentinelRetryStrategy: (attempt) => Math.min(100 * attempt, 1000) });
    case 'cluster':
      throw new Error('connectServer: a Redis Cluster has no single server (use connectCommands)');
  }
}

/** The command connection of a mode: ioredis's Cluster client in cluster mode. */
export function connectCommands(target: RedisTarget, options: ConnectOptions = {}): RedisClient {
  if (target.mode !== 'cluster') return connectServer(target, options);
  const clusterOptions: ClusterOptions = {
    enableOfflineQueue: false,
    // No auto-pipelining: at chat rates every command would become a pipeline of its own (an object, a
    // setImmediate, callbacks through nextTick), 12 % of a replica's CPU per message in small rooms.
    enableAutoPipelining: false,
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    // No clusterNodeRetryStrategy: a node that dropped leaves the pool, and its commands go back
    // through a topology refresh to whoever serves the slot now (a dead master's replica).
    retryDelayOnFailover: 200,
    retryDelayOnClusterDown: 200,
    // A failover or a migration is noticed at once (a dropped subscriber connection, MOVED, a closed
    // connection each refresh the slots); the periodic refresh is the backstop, so it can be rare.
    slotsRefreshInterval: 10_000,
    redisOptions: baseOptions(target, options),
  };
  // With TLS, keep the host names the nodes announce (certificates name them), as managed clusters need.
  if (target.tls) clusterOptions.dnsLookup = (address, callback) => callback(null, address);
  return new Cluster(target.nodes, clusterOptions);
}

/** Resolves once the connection is ready, rejects after `timeoutMs`. */
export function waitReady(redis: RedisClient, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status: ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    redis.once('ready', onReady);
  });
}

/** Rejects when `promise` takes longer than `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
