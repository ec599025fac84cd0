/** The local cluster (redis + replicas + nginx) with settings that keep the tests fast. */
import { startCluster, type Cluster } from '@roomcast/deploy/local';

/** Presence notices a dead replica within about 2 s instead of 15 s. */
export const FAST_PRESENCE = {
  PRESENCE_HEARTBEAT_MS: '500',
  PRESENCE_TTL_MS: '1500',
  PRESENCE_SWEEP_MS: '250',
};

export function startTestCluster(env: Record<string, string> = {}, replicas = 3): Promise<Cluster> {
  return startCluster({ replicas, env: { LOG_LEVEL: 'warn', ...FAST_PRESENCE, ...env } });
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
