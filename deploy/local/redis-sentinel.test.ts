/**
 * startRedisSentinel against real redis-server processes: one set for the
 * file, with a password (data nodes require it, Sentinels use auth-pass).
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster } from './cluster.js';
import { replicaRedisEnv, writeEnvEchoReplica } from './env-echo-replica.js';
import { redisInfo } from './redis-process.js';
import { startRedisSentinel, type RedisSentinelHandle } from './redis-sentinel.js';
import { redisCommand, type RespValue } from './resp.js';

const PASSWORD = 'sentinel-test-password';
const auth = { password: PASSWORD };

const pairs = (value: RespValue): Map<string, string> => {
  const list = Array.isArray(value) ? value : [];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(String(list[i]), String(list[i + 1]));
  return out;
};

describe('startRedisSentinel', () => {
  let set: RedisSentinelHandle;
  let entry: string;

  beforeAll(async () => {
    set = await startRedisSentinel({ password: PASSWORD });
    entry = await writeEnvEchoReplica();
  });
  afterAll(async () => {
    await set?.stop();
    if (entry) await rm(path.dirname(entry), { recursive: true, force: true });
  });

  it('runs a master, a replica in sync with it, and three Sentinels that agree on both and know each other', async () => {
    const [master, replica] = set.dataNodes;
    expect(set.dataNodes).toHaveLength(2);
    expect(set.sentinelNodes).toHaveLength(3);
    expect(set.name).toBe('mymaster');
    expect(set.sentinels).toBe(set.sentinelNodes.map((s) => `127.0.0.1:${s.port}`).join(','));
    expect(master!.role).toBe('master');
    expect(replica!.role).toBe('replica');
    expect(await set.master()).toBe(master!.port);

    const replication = await redisInfo(replica!.port, 'replication', PASSWORD);
    expect(replication.get('role')).toBe('slave');
    expect(Number(replication.get('master_port'))).toBe(master!.port);
    expect(replication.get('master_link_status')).toBe('up');

    for (const sentinel of set.sentinelNodes) {
      // Sentinels need no password; they use auth-pass towards the data nodes.
      expect(await redisCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', 'mymaster'])).toEqual(['127.0.0.1', String(master!.port)]);
      const state = pairs(await redisCommand(sentinel.port, ['SENTINEL', 'master', 'mymaster']));
      expect(state.get('flags')).toBe('master');
      expect(state.get('num-other-sentinels')).toBe('2');
      expect(state.get('quorum')).toBe('2');
      expect(state.get('down-after-milliseconds')).toBe('1000');
      const replicas = await redisCommand(sentinel.port, ['SENTINEL', 'replicas', 'mymaster']);
      expect((replicas as RespValue[]).map(pairs).map((r) => Number(r.get('port')))).toEqual([replica!.port]);
    }
  });

  it('data nodes refuse clients without the password; the config files Sentinel rewrites are private to us', async () => {
    for (const node of set.dataNodes) {
      await expect(redisCommand(node.port, ['PING'])).rejects.toThrow(/^NOAUTH/);
      expect(await redisCommand(node.port, ['PING'], 2000, auth)).toBe('PONG');
    }
    const sentinelConf = await readFile(path.join(set.sentinelNodes[0]!.dir, 'sentinel.conf'), 'utf8');
    expect(sentinelConf).toContain(`sentinel auth-pass mymaster ${PASSWORD}`);
  });

  it('killMaster() (kill -9): the Sentinels promote the replica within a few seconds; the old master comes back as its replica', async () => {
    const [first, second] = set.dataNodes;
    await redisCommand(first!.port, ['SET', 'room:general', 'before the crash'], 2000, auth);
    expect(await redisCommand(first!.port, ['WAIT', '1', '2000'], 3000, auth)).toBe(1);

    const killedAt = Date.now();
    const oldMaster = await set.killMaster();
    expect(oldMaster).toBe(first!.port);
    expect(first!.alive).toBe(false);
    const newMaster = await set.waitForFailover(oldMaster);
    const tookMs = Date.now() - killedAt;

    expect(newMaster).toBe(second!.port);
    // down-after 1 s + agreement + promotion: ~2-3 s here; 15 s is the CI bound.
    expect(tookMs).toBeLessThan(15_000);
    expect(await set.master()).toBe(second!.port);
    for (const sentinel of set.sentinelNodes) {
      expect(await redisCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', 'mymaster'])).toEqual(['127.0.0.1', String(second!.port)]);
    }
    expect((await redisInfo(second!.port, 'replication', PASSWORD)).get('role')).toBe('master');
    expect(await redisCommand(second!.port, ['GET', 'room:general'], 2000, auth)).toBe('before the crash');
    // The new master takes writes.
    expect(await redisCommand(second!.port, ['SET', 'room:general', 'after'], 2000, auth)).toBe('OK');

    await first!.restart();
    expect(first!.role).toBe('replica');
    const replication = await redisInfo(first!.port, 'replication', PASSWORD);
    expect(replication.get('role')).toBe('slave');
    expect(Number(replication.get('master_port'))).toBe(second!.port);
    expect(await redisCommand(first!.port, ['GET', 'room:general'], 2000, auth)).toBe('after');
    // Its config file now says so too: a further restart keeps it a replica.
    expect(await readFile(path.join(first!.dir, 'redis.conf'), 'utf8')).toMatch(new RegExp(`^replicaof 127\\.0\\.0\\.1 ${second!.port}$`, 'm'));
  });

  it('waitHealthy() names a killed Sentinel; heal() brings it back and it reports the current master', async () => {
    const sentinel = set.sentinelNodes[2]!;
    await sentinel.kill();
    await expect(set.waitHealthy(300)).rejects.toThrow(String(sentinel.port));
    await set.heal();
    expect(sentinel.alive).toBe(true);
    expect(await redisCommand(sentinel.port, ['SENTINEL', 'get-master-addr-by-name', 'mymaster'])).toEqual(['127.0.0.1', String(await set.master())]);
  });

  it('startCluster({ redisTopology }) gives replicas REDIS_SENTINELS, REDIS_SENTINEL_NAME and REDIS_PASSWORD, and leaves the set running', async () => {
    const local = await startCluster({ redisTopology: set, replicas: 1, entry });
    try {
      expect(await replicaRedisEnv(local.replicas[0]!.url)).toEqual({
        REDIS_SENTINELS: set.sentinels,
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_PASSWORD: PASSWORD,
      });
    } finally {
      await local.stop();
    }
    for (const sentinel of set.sentinelNodes) expect(await redisCommand(sentinel.port, ['PING'])).toBe('PONG');
  });

  it("startCluster({ redis: 'sentinel' }) starts its own set, without a password by default, and stop() stops all of it", async () => {
    const local = await startCluster({ redis: 'sentinel', replicas: 1, entry });
    const topology = local.redisTopology;
    const ports = [...topology.dataNodes, ...topology.sentinelNodes].map((n) => n.port);
    try {
      expect(local.ownsRedis).toBe(true);
      expect(topology.dir.startsWith(local.dir)).toBe(true);
      expect(await replicaRedisEnv(local.replicas[0]!.url)).toEqual({ REDIS_SENTINELS: topology.sentinels, REDIS_SENTINEL_NAME: 'mymaster' });
      expect(await redisCommand(topology.dataNodes[0]!.port, ['PING'])).toBe('PONG');
    } finally {
      await local.stop();
    }
    for (const port of ports) await expect(redisCommand(port, ['PING'], 500)).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(local.dir)).toBe(false);
  });
});
