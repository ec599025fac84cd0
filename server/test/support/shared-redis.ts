/**
 * vitest globalSetup: one Redis Cluster (3 masters + 3 replicas) and one
 * Sentinel set (master + replica + 3 Sentinels) for the whole server test
 * run, instead of six servers per test file: CI's time budget.
 *
 * The processes belong to vitest's main process (here), which outlives every
 * test file's worker; test files reach them through a loopback control
 * endpoint whose address is provided as `sharedRedis` (inject it with the
 * helpers in test/support/redis-topologies.ts). Each topology starts on
 * first use, so runs that need neither (a unit test in watch mode) start
 * nothing; the first file that uses one pays its start (about 2-3 s each).
 * Everything is stopped when the run ends.
 *
 * Both run with a password (random per run), so every test also proves that
 * REDIS_PASSWORD reaches the cluster nodes and the Sentinel's data nodes.
 */
import { randomBytes } from 'node:crypto';
import { serveSharedTopologies } from '@roomcast/deploy/local';
import type { TestProject } from 'vitest/node';
// The ProvidedContext augmentation (types only: no vitest runtime in this process).
import type {} from './redis-topologies.js';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const served = await serveSharedTopologies({
    password: randomBytes(16).toString('hex'),
    // The launcher defaults: node timeout 2 s (a killed master is replaced
    // in ~4-5 s), Sentinel down-after 1 s and failover-timeout 3 s (~2-3 s).
    cluster: { nodeTimeoutMs: 2000 },
    sentinel: { downAfterMs: 1000, failoverTimeoutMs: 3000 },
  });
  project.provide('sharedRedis', served.info);
  return async () => {
    const times = served.startTimes();
    const started = Object.entries(times).map(([kind, ms]) => `${kind} ${ms} ms`);
    if (started.length > 0) console.log(`shared Redis started: ${started.join(', ')}`);
    await served.close();
  };
}
