/**
 * Three replicas and nginx on a Sentinel-managed Redis (a master, a replica,
 * three Sentinels), the run's shared set: a kill -9 of the master is
 * survived without restarting any replica — commands fail fast meanwhile,
 * then the replicas follow the Sentinels to the new master, resubscribe and
 * fill their rooms' gaps.
 */
import type { Cluster } from '@roomcast/deploy/local';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { replicaLogs, startTestClusterOn } from './support/cluster.js';
import { failoverUnderLoad } from './support/failover.js';
import { useSharedSentinel } from './support/redis-topologies.js';

const redis = useSharedSentinel();
let cluster: Cluster;

beforeAll(async () => {
  cluster = await startTestClusterOn(redis.topology, { REDIS_COMMAND_TIMEOUT_MS: '1000' });
});
beforeEach(() => onTestFailed(() => console.error(replicaLogs(cluster))));
afterAll(async () => {
  await cluster?.stop();
});

describe('three replicas on Sentinel', () => {
  it('survives a kill -9 of the master, under load, without restarting a replica', async () => {
    const room = `busy-${process.pid}`;
    const pids = cluster.replicas.map((replica) => replica.pid);
    let killed = 0;
    const report = await failoverUnderLoad(cluster, room, async () => {
      killed = await redis.topology.killMaster();
      await redis.topology.waitForFailover(killed);
    });
    console.log(`sentinel failover under load: ${JSON.stringify(report)}`);
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(cluster.replicas.map((replica) => replica.pid)).toEqual(pids);
    await redis.topology.restart(killed);
  });
});
