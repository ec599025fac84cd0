/**
 * startRedisCluster against real redis-server processes: one cluster for the
 * whole file (starting one takes ~2 s), with a password, so every check also
 * proves the password reaches redis-cli and the replicas' masterauth.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from './cluster.js';
import { replicaRedisEnv, writeEnvEchoReplica } from './env-echo-replica.js';
import { CLUSTER_SLOTS, parseClusterNodes, startRedisCluster, type RedisClusterHandle } from './redis-cluster.js';
import { redisInfo } from './redis-process.js';
import { redisCommand } from './resp.js';

const PASSWORD = 'cluster "test" pass/word';
const auth = { password: PASSWORD };

/** redis-cli -c (follows MOVED) against one node, authenticated through REDISCLI_AUTH. */
function redisCliFollowing(port: number, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('redis-cli', ['-c', '-p', String(port), ...args], { env: { ...process.env, REDISCLI_AUTH: PASSWORD } }, (error, stdout, stderr) =>
      error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(stdout.trim()),
    );
  });
}

describe('startRedisCluster', () => {
  let cluster: RedisClusterHandle;
  let entry: string;

  beforeAll(async () => {
    // node-timeout 1000: a killed master is replaced in ~2-3 s instead of ~4-5 s.
    cluster = await startRedisCluster({ password: PASSWORD, nodeTimeoutMs: 1000 });
    entry = await writeEnvEchoReplica();
  });
  afterAll(async () => {
    await cluster?.stop();
    if (entry) await rm(path.dirname(entry), { recursive: true, force: true });
  });

  it('runs 3 masters owning all 16384 slots between them, each with one replica in sync', async () => {
    expect(cluster.nodes).toHaveLength(6);
    expect(cluster.seeds).toBe(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).join(','));
    for (const node of cluster.nodes) {
      // The cluster bus needs port + 10000.
      expect(node.port).toBeLessThan(55535);
      expect(node.alive).toBe(true);
    }
    const views = parseClusterNodes(String(await redisCommand(cluster.nodes[0]!.port, ['CLUSTER', 'NODES'], 2000, auth)));
    const masters = views.filter((v) => v.flags.includes('master'));
    expect(masters).toHaveLength(3);
    expect(cluster.nodes.filter((n) => n.role === 'master').map((n) => n.port).sort()).toEqual(masters.map((m) => m.port).sort());
    // Every slot exactly once.
    const owned = new Array<number>(CLUSTER_SLOTS).fill(0);
    for (const master of masters) for (const [from, to] of master.slots) for (let slot = from; slot <= to; slot++) owned[slot]!++;
    expect(owned.every((count) => count === 1)).toBe(true);
    for (const master of masters) expect(views.filter((v) => v.masterId === master.id)).toHaveLength(1);
    for (const replica of cluster.nodes.filter((n) => n.role === 'replica')) {
      const info = await redisInfo(replica.port, 'replication', PASSWORD);
      expect(info.get('master_link_status'), String(replica.port)).toBe('up');
    }
    for (const node of cluster.nodes) {
      expect(String(await redisCommand(node.port, ['CLUSTER', 'INFO'], 2000, auth))).toContain('cluster_state:ok');
    }
  });

  it('refuses clients without the password', async () => {
    await expect(redisCommand(cluster.nodes[0]!.port, ['PING'])).rejects.toThrow(/^NOAUTH/);
  });

  it('answers MOVED from a node that does not own the key; redis-cli -c follows it both ways', async () => {
    const key = '{general}:probe';
    const owner = await cluster.masterFor(key);
    const slot = Number(await redisCommand(owner, ['CLUSTER', 'KEYSLOT', key], 2000, auth));
    expect(await cluster.masterFor(slot)).toBe(owner);
    const other = cluster.nodes.find((n) => n.role === 'master' && n.port !== owner)!;
    await expect(redisCommand(other.port, ['GET', key], 2000, auth)).rejects.toThrow(`MOVED ${slot} 127.0.0.1:${owner}`);

    expect(await redisCliFollowing(other.port, ['SET', key, 'hello'])).toBe('OK');
    const third = cluster.nodes.find((n) => n.role === 'master' && n.port !== owner && n.port !== other.port)!;
    expect(await redisCliFollowing(third.port, ['GET', key])).toBe('hello');
    expect(await redisCommand(owner, ['GET', key], 2000, auth)).toBe('hello');
  });

  it('replaces a master killed with -9 by its replica, which then serves the slot; restart() brings the old one back as a replica', async () => {
    const key = '{failover}:k';
    const oldMaster = await cluster.masterFor(key);
    await redisCommand(oldMaster, ['SET', key, 'kept'], 2000, auth);
    // The write is on the replica before the crash (replication is asynchronous).
    expect(await redisCommand(oldMaster, ['WAIT', '1', '2000'], 3000, auth)).toBe(1);
    const victim = cluster.node(oldMaster);
    const oldPid = victim.pid;

    const killedAt = Date.now();
    await victim.kill();
    expect(victim.alive).toBe(false);
    const newMaster = await cluster.waitForFailover(oldMaster);
    const tookMs = Date.now() - killedAt;

    expect(newMaster).not.toBe(oldMaster);
    // About 2 × node-timeout; 15 s is a generous bound for a loaded CI machine.
    expect(tookMs).toBeLessThan(15_000);
    expect(await cluster.masterFor(key)).toBe(newMaster);
    expect(cluster.node(newMaster).role).toBe('master');
    expect((await redisInfo(newMaster, 'replication', PASSWORD)).get('role')).toBe('master');
    expect(await redisCommand(newMaster, ['GET', key], 2000, auth)).toBe('kept');
    expect(await redisCliFollowing(oldMaster === cluster.nodes[0]!.port ? cluster.nodes[1]!.port : cluster.nodes[0]!.port, ['GET', key])).toBe('kept');

    await victim.restart();
    expect(victim.alive).toBe(true);
    expect(victim.pid).not.toBe(oldPid);
    expect(victim.role).toBe('replica');
    const replication = await redisInfo(oldMaster, 'replication', PASSWORD);
    expect(replication.get('role')).toBe('slave');
    expect(Number(replication.get('master_port'))).toBe(newMaster);
    // Healthy again: 3 masters with a replica each, every slot served, all in sync.
    await cluster.waitHealthy(10_000);
    expect(cluster.nodes.filter((n) => n.role === 'master')).toHaveLength(3);
  });

  it('heal() restarts dead nodes; flushAll() empties every node', async () => {
    const replica = cluster.nodes.find((n) => n.role === 'replica')!;
    await replica.kill();
    await expect(cluster.waitHealthy(500)).rejects.toThrow(`${replica.port}`);
    await cluster.heal();
    expect(replica.alive).toBe(true);

    await redisCliFollowing(cluster.nodes[0]!.port, ['SET', '{a}', '1']);
    await redisCliFollowing(cluster.nodes[0]!.port, ['SET', '{b}', '2']);
    await cluster.flushAll();
    for (const node of cluster.nodes) expect(await redisCommand(node.port, ['DBSIZE'], 2000, auth)).toBe(0);
  });

  it('startCluster({ redisTopology }) points replicas at it with REDIS_CLUSTER_NODES and REDIS_PASSWORD only, and leaves it running on stop()', async () => {
    const inherited = process.env.REDIS_URL;
    // A developer's shell may export REDIS_URL: it must not reach the replicas.
    process.env.REDIS_URL = 'redis://127.0.0.1:6379';
    try {
      const local = await startCluster({ redisTopology: cluster, replicas: 2, entry });
      try {
        expect(local.redisTopology).toBe(cluster);
        expect(local.ownsRedis).toBe(false);
        expect(() => local.redis).toThrow(/cluster topology: use cluster.redisTopology/);
        for (const replica of local.replicas) {
          expect(await replicaRedisEnv(replica.url)).toEqual({ REDIS_CLUSTER_NODES: cluster.seeds, REDIS_PASSWORD: PASSWORD });
        }
        // The seeds are every node: any of them answers for the cluster.
        expect(cluster.seeds.split(',')).toHaveLength(6);
      } finally {
        await local.stop();
      }
    } finally {
      if (inherited === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = inherited;
    }
    for (const node of cluster.nodes) expect(await redisCommand(node.port, ['PING'], 2000, auth)).toBe('PONG');
    await expect(startCluster({ redisTopology: cluster, redis: 'sentinel', entry })).rejects.toThrow(/cluster one/);
  });

  it('stop() stops every node and removes the dir it made', async () => {
    const ports = cluster.nodes.map((n) => n.port);
    await cluster.stop();
    await cluster.stop();
    for (const node of cluster.nodes) expect(node.alive).toBe(false);
    for (const port of ports) await expect(redisCommand(port, ['PING'], 500)).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
