/**
 * The shared topologies as test files use them: the owner serves them, a
 * child process (standing in for a vitest worker, which exits after its
 * file) drives them over the control endpoint, and what it kills and
 * restarts outlives it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisInfo } from './redis-process.js';
import { redisCommand } from './resp.js';
import { connectSharedTopologies, serveSharedTopologies, type SharedTopologiesServer } from './shared-topologies.js';
import { seedPorts } from './topology.js';

const PASSWORD = 'shared-test-password';
const auth = { password: PASSWORD };
const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs `body` (an async function body with `connect` and `info` in scope) in a separate Node process; resolves with what it returns. */
async function inWorker(info: unknown, body: string): Promise<unknown> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-worker-'));
  const file = path.join(dir, 'worker.mts');
  await writeFile(
    file,
    `import { connectSharedTopologies as connect } from ${JSON.stringify(path.join(here, 'shared-topologies.ts'))};
const info = ${JSON.stringify(info)};
const result = await (async () => { ${body} })();
console.log(JSON.stringify(result ?? null));`,
  );
  try {
    const tsx = path.join(here, '../../node_modules/.bin/tsx');
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(tsx, [file], { timeout: 60_000 }, (error, out, err) => (error ? reject(new Error(`${error.message}\n${err}`)) : resolve(out))),
    );
    return JSON.parse(stdout.trim().split('\n').pop() ?? 'null');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('serveSharedTopologies / connectSharedTopologies', () => {
  let served: SharedTopologiesServer;

  beforeAll(async () => {
    served = await serveSharedTopologies({ password: PASSWORD, cluster: { nodeTimeoutMs: 1000 } });
  });
  afterAll(async () => {
    await served?.close();
  });

  it('starts nothing until a test file asks, and refuses callers without the token', async () => {
    expect(served.startTimes()).toEqual({});
    const res = await fetch(`${served.info.url}/cluster/acquire`, { method: 'POST', body: '[]' });
    expect(res.status).toBe(401);
    expect(served.startTimes()).toEqual({});
  });

  it('a worker process kills a cluster master and restarts it; the node it restarted outlives the worker', async () => {
    const report = (await inWorker(
      served.info,
      `const cluster = await connect(info).cluster();
       const master = await cluster.masterFor('{room}');
       const before = (await cluster.nodes()).find((n) => n.port === master);
       await cluster.kill(master);
       const next = await cluster.waitForFailover(master);
       await cluster.restart(master);
       const after = (await cluster.nodes()).find((n) => n.port === master);
       return { seeds: cluster.seeds, password: cluster.password, master, next, before, after };`,
    )) as {
      seeds: string;
      password: string;
      master: number;
      next: number;
      before: { pid: number; role: string };
      after: { pid: number; role: string; alive: boolean };
    };
    expect(served.startTimes().cluster).toBeGreaterThan(0);
    expect(report.password).toBe(PASSWORD);
    expect(seedPorts(report.seeds)).toHaveLength(6);
    expect(report.next).not.toBe(report.master);
    expect(report.before.role).toBe('master');
    expect(report.after).toMatchObject({ role: 'replica', alive: true });
    expect(report.after.pid).not.toBe(report.before.pid);
    // The worker is gone; the node it restarted is still up, now a replica of the new master.
    const replication = await redisInfo(report.master, 'replication', PASSWORD);
    expect(replication.get('role')).toBe('slave');
    expect(Number(replication.get('master_port'))).toBe(report.next);
    expect(replication.get('master_link_status')).toBe('up');
  });

  it('acquire heals what a previous file left dead and hands out an empty topology', async () => {
    const shared = connectSharedTopologies(served.info);
    const cluster = await shared.cluster();
    const [victim] = await cluster.nodes();
    await redisCommand(await cluster.masterFor('{left}'), ['SET', '{left}', 'over'], 2000, auth);
    await cluster.kill(victim!.port);
    expect((await cluster.nodes()).find((n) => n.port === victim!.port)?.alive).toBe(false);

    // The next file:
    const again = await shared.cluster();
    const nodes = await again.nodes();
    expect(nodes.every((n) => n.alive)).toBe(true);
    expect(nodes.filter((n) => n.role === 'master')).toHaveLength(3);
    for (const node of nodes) expect(await redisCommand(node.port, ['DBSIZE'], 2000, auth)).toBe(0);
    await expect(again.masterFor(16384)).rejects.toThrow(/a slot is an integer from 0 to 16383/);
    await expect(again.kill(1)).rejects.toThrow(/not a node of this cluster/);
  });

  it('a worker kills the Sentinel master; the Sentinels promote the replica; restart() makes the old master its replica', async () => {
    const report = (await inWorker(
      served.info,
      `const set = await connect(info).sentinel();
       const old = await set.killMaster();
       const next = await set.waitForFailover(old);
       await set.restart(old);
       return { sentinels: set.sentinels, name: set.name, old, next, master: await set.master(), data: await set.dataNodes() };`,
    )) as { sentinels: string; name: string; old: number; next: number; master: number; data: Array<{ port: number; role: string; alive: boolean }> };
    expect(served.startTimes().sentinel).toBeGreaterThan(0);
    expect(report.name).toBe('mymaster');
    expect(seedPorts(report.sentinels)).toHaveLength(3);
    expect(report.next).not.toBe(report.old);
    expect(report.master).toBe(report.next);
    expect(report.data.find((n) => n.port === report.old)).toMatchObject({ role: 'replica', alive: true });
    expect((await redisInfo(report.old, 'replication', PASSWORD)).get('role')).toBe('slave');
  });

  it('close() stops everything it started', async () => {
    const cluster = await connectSharedTopologies(served.info).cluster({ flush: false });
    const sentinel = await connectSharedTopologies(served.info).sentinel({ flush: false });
    const ports = [...seedPorts(cluster.seeds), ...seedPorts(sentinel.sentinels), ...(await sentinel.dataNodes()).map((n) => n.port)];
    await served.close();
    for (const port of ports) await expect(redisCommand(port, ['PING'], 500)).rejects.toThrow(/ECONNREFUSED/);
    await expect(fetch(`${served.info.url}/cluster/state`, { method: 'POST' })).rejects.toThrow();
  });
});
