/** The local cluster (redis + replicas + nginx) with settings that keep the tests fast. */
import { startCluster, type Cluster, type RedisTopology } from '@roomcast/deploy/local';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { closeAll, type TestClient } from './client.js';

/** Presence notices a dead replica within about 2 s instead of 15 s. */
export const FAST_PRESENCE = {
  PRESENCE_HEARTBEAT_MS: '500',
  PRESENCE_TTL_MS: '1500',
  PRESENCE_SWEEP_MS: '250',
};

/**
 * Suites that log in or post over HTTP a lot (but do not test those limits:
 * access.test.ts does, with the defaults) lift the per-address login and
 * per-user HTTP write limits.
 */
export const LOOSE_HTTP_LIMITS = {
  RATE_LOGIN_PER_SEC: '10000',
  RATE_LOGIN_BURST: '10000',
  RATE_HTTP_WRITES_PER_SEC: '10000',
  RATE_HTTP_WRITES_BURST: '10000',
};

const testEnv = (env: Record<string, string>) => ({ LOG_LEVEL: 'warn', ...FAST_PRESENCE, ...LOOSE_HTTP_LIMITS, ...env });

export function startTestCluster(env: Record<string, string> = {}, replicas = 3): Promise<Cluster> {
  return startCluster({ replicas, env: testEnv(env) });
}

/** Three replicas and nginx on a shared Redis topology (Cluster, Sentinel), which their stop() leaves running. */
export function startTestClusterOn(redisTopology: RedisTopology, env: Record<string, string> = {}): Promise<Cluster> {
  return startCluster({ redisTopology, env: testEnv(env) });
}

/** What useTestCluster hands a test file: the running cluster, and the sockets to close. */
export interface TestClusterHandle {
  /** Set by the helper's beforeAll; read it only from hooks and tests. */
  readonly cluster: Cluster;
  /** Sockets added here are closed after each test, and at the end of the file. */
  readonly clients: Set<TestClient>;
}

/**
 * Registers the hooks most integration files share: start a test cluster
 * before all tests, close the tracked clients after each test, and close them
 * and stop the cluster after all. Call it at the top level of the file, before
 * the file's own hooks: vitest runs after-hooks in reverse order of
 * registration, so the file's afterEach (say, a check of the clients) runs
 * before the clients are closed here.
 */
export function useTestCluster(env: Record<string, string> = {}, replicas = 3): TestClusterHandle {
  let cluster: Cluster | undefined;
  const clients = new Set<TestClient>();
  beforeAll(async () => {
    cluster = await startTestCluster(env, replicas);
  });
  afterAll(async () => {
    await closeAll(clients);
    await cluster?.stop();
  });
  afterEach(async () => {
    await closeAll(clients);
    clients.clear();
  });
  return {
    get cluster(): Cluster {
      if (!cluster) throw new Error('the test cluster is not started (use it from hooks and tests only)');
      return cluster;
    },
    clients,
  };
}

/** ws://127.0.0.1:<port>/ws of one replica, bypassing nginx. */
export function replicaWsUrl(cluster: Cluster, index: number): string {
  const replica = cluster.replicas[index];
  if (!replica) throw new Error(`no replica ${index}`);
  return `ws://127.0.0.1:${replica.port}/ws`;
}

/** The tail of every replica's output, for the report of a failed test. */
export function replicaLogs(cluster: Cluster, lines = 40): string {
  return cluster.replicas
    .map((replica) => `--- ${replica.nodeId} (pid ${replica.pid}, ${replica.alive ? 'alive' : 'dead'}) ---\n${replica.logs().split('\n').slice(-lines).join('\n')}`)
    .join('\n');
}
