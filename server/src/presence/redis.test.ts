/**
 * RedisPresence against a real redis-server: the shared contract, then what
 * only several nodes can show: a crashed node's members are reaped by the
 * others, and a node restarted under the same id clears what it left behind.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedis, type RedisHandle } from '@roomcast/deploy/local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../broker/broker.contract.js';
import { RedisBroker } from '../broker/redis.js';
import type { User } from '../protocol.js';
import { RoomWatch, diffFrame, presenceContract } from './presence.contract.js';
import { RedisPresence } from './redis.js';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
});
afterAll(async () => {
  await redis?.stop();
});

/** Short timings so that a dead node is noticed within about half a second. */
const TIMING = { heartbeatMs: 100, ttlMs: 400, sweepMs: 100 };

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

let prefixes = 0;
const newPrefix = () => `p${++prefixes}`;

async function openBroker(keyPrefix: string, url = redis.url): Promise<RedisBroker> {
  const broker = new RedisBroker({ redis: { mode: 'single', url, tls: false }, historyMaxLen: 1000, commandTimeoutMs: 2000, keyPrefix });
  closers.push(() => broker.close());
  await until(() => broker.isReady(), 10_000, 'the Redis broker to connect');
  return broker;
}

/** One node: its own Redis connections and presence manager, as in a replica. */
async function openNode(keyPrefix: string, nodeId: string, url = redis.url): Promise<{ presence: RedisPresence; broker: RedisBroker }> {
  const broker = await openBroker(keyPrefix, url);
  const presence = new RedisPresence({ redis: broker.client, keys: broker.keys, nodeId, ...TIMING });
  // Runs before the broker closes (closers run in reverse).
  closers.push(() => presence.close());
  return { presence, broker };
}

presenceContract('RedisPresence', async () => {
  const { presence, broker } = await openNode(newPrefix(), 'n1');
  return { presence, broker, close: async () => undefined };
});

const alice: User = { id: 'u_alice', name: 'alice' };
const bob: User = { id: 'u_bob', name: 'bob' };
const carol: User = { id: 'u_carol', name: 'carol' };
const byId = (users: User[]) => [...users].sort((a, b) => a.id.localeCompare(b.id));

/** Two started nodes n1 and n2 on a fresh prefix, and a watch on one room of it. */
async function twoStartedNodes() {
  const prefix = newPrefix();
  const n1 = await openNode(prefix, 'n1');
  const n2 = await openNode(prefix, 'n2');
  const watch = await RoomWatch.open(await openBroker(prefix));
  await n1.presence.start();
  await n2.presence.start();
  return { n1, n2, watch };
}

describe('RedisPresence across nodes', () => {
  it("reaps a crashed node's members and publishes left, keeping users still present elsewhere", async () => {
    const { n1, n2, watch } = await twoStartedNodes();
    const room = watch.room;
    await n1.presence.join(room, { connectionId: 'c1', user: alice });
    await n2.presence.join(room, { connectionId: 'c2', user: bob });
    await n1.presence.join(room, { connectionId: 'c3', user: carol });
    await n2.presence.join(room, { connectionId: 'c4', user: carol });
    expect(byId(await n2.presence.list(room))).toEqual(byId([alice, bob, carol]));

    n1.presence.abandon(); // what kill -9 looks like from Redis: the heartbeat stops
    const left = await watch.waitForDiff((f) => f.left.length > 0, 5000, 'the left diff of the crashed node');
    expect(diffFrame(left)).toEqual({ type: 'presence', room, joined: [], left: [alice] });
    expect(byId(await n2.presence.list(room))).toEqual(byId([bob, carol]));
    // carol still has a connection on n2: she never left.
    const diffs = await watch.settle();
    expect(diffs.filter((d) => diffFrame(d).left.length > 0)).toHaveLength(1);
  });

  it('a node that was taken for dead re-asserts its members with its next heartbeat', async () => {
    const { n1, n2, watch } = await twoStartedNodes();
    await n1.presence.join(watch.room, { connectionId: 'c1', user: alice });
    n1.presence.abandon(); // a long pause
    await watch.waitForDiff((f) => f.left.length > 0, 5000, 'alice reaped');
    expect(await n2.presence.list(watch.room)).toEqual([]);
    await n1.presence.heartbeat(); // the process wakes up
    expect(await n2.presence.list(watch.room)).toEqual([alice]);
    const joins = (await watch.settle()).filter((d) => diffFrame(d).joined.length > 0);
    expect(joins).toHaveLength(2);
  });

  it('a node restarted with the same id clears what its previous process left behind', async () => {
    const prefix = newPrefix();
    const crashed = await openNode(prefix, 'n1');
    const watch = await RoomWatch.open(await openBroker(prefix));
    await crashed.presence.start();
    await crashed.presence.join(watch.room, { connectionId: 'old-1', user: alice });
    await crashed.presence.join(watch.room, { connectionId: 'old-2', user: bob });
    crashed.presence.abandon();
    // No other node runs a sweep here: the leftovers stay until n1 comes back.
    expect(byId(await crashed.presence.list(watch.room))).toEqual(byId([alice, bob]));

    const restarted = await openNode(prefix, 'n1');
    await restarted.presence.start();
    expect(await restarted.presence.list(watch.room)).toEqual([]);
    const left = (await watch.settle()).flatMap((d) => diffFrame(d).left);
    expect(byId(left)).toEqual(byId([alice, bob]));
  });

  it('close (graceful shutdown) publishes left for its members', async () => {
    const { n1, n2, watch } = await twoStartedNodes();
    await n1.presence.join(watch.room, { connectionId: 'c1', user: alice });
    await n2.presence.join(watch.room, { connectionId: 'c2', user: bob });
    await n1.presence.close();
    await watch.waitForDiff((f) => f.left.some((u) => u.id === alice.id), 5000, 'alice left');
    expect(await n2.presence.list(watch.room)).toEqual([bob]);
  });
});

describe('RedisPresence through a Redis outage', () => {
  /** A Redis of its own, with its append-only file, to stop and restart. */
  async function ownRedis(): Promise<RedisHandle> {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-presence-outage-'));
    const own = await startRedis({ dataDir, appendonly: true });
    closers.unshift(async () => {
      await own.stop();
      await rm(dataDir, { recursive: true, force: true });
    });
    return own;
  }

  async function outage(own: RedisHandle, broker: RedisBroker, during: () => Promise<void>): Promise<void> {
    await own.stop();
    await until(() => !broker.isReady(), 10_000, 'the broker to notice the outage');
    await during();
    await own.restart();
    await until(() => broker.isReady(), 10_000, 'the broker to reconnect');
  }

  it('a connection that closed while Redis was down leaves with a later heartbeat: no ghost', async () => {
    const own = await ownRedis();
    const prefix = newPrefix();
    const n1 = await openNode(prefix, 'n1', own.url);
    const room = 'outage';
    await n1.presence.join(room, { connectionId: 'c1', user: alice });
    await n1.presence.join(room, { connectionId: 'c2', user: bob });

    await outage(own, n1.broker, async () => {
      await expect(n1.presence.leave(room, 'c1')).rejects.toThrow();
      await expect(n1.presence.heartbeat()).rejects.toThrow();
    });
    expect(byId(await n1.presence.list(room))).toEqual(byId([alice, bob])); // alice still haunts the room
    const watch = await RoomWatch.open(await openBroker(prefix, own.url), room);
    await n1.presence.heartbeat();
    expect(await n1.presence.list(room)).toEqual([bob]);
    const left = await watch.waitForDiff((f) => f.left.length > 0, 5000, 'the left diff of alice');
    expect(diffFrame(left)).toEqual({ type: 'presence', room, joined: [], left: [alice] });
    // Done for good: the next heartbeat removes nothing more and publishes nothing.
    await n1.presence.heartbeat();
    expect((await watch.settle()).map(diffFrame)).toEqual([diffFrame(left)]);
  });

  it('after an outage nobody is reaped until the others had one TTL to heartbeat again', async () => {
    const own = await ownRedis();
    const prefix = newPrefix();
    const n1 = await openNode(prefix, 'n1', own.url);
    const n2 = await openNode(prefix, 'n2', own.url);
    const room = 'grace';
    await n2.presence.join(room, { connectionId: 'c2', user: bob });
    await n1.presence.heartbeat();
    await n2.presence.heartbeat();
    // What the nodes hash looks like when Redis comes back: every beat is from before the outage.
    const makeN2Stale = () => n1.broker.client.hset(n1.broker.keys.nodes(), 'n2', '0');

    await outage(own, n1.broker, async () => {
      await expect(n1.presence.heartbeat()).rejects.toThrow();
    });
    await until(() => n2.broker.isReady(), 10_000, 'n2 to reconnect');
    await makeN2Stale();
    await n1.presence.sweep();
    expect(await n1.presence.list(room)).toEqual([bob]);

    // The grace is one TTL, not forever: a node that stays silent is reaped after it.
    await until(
      async () => {
        await n1.presence.sweep();
        return (await n1.presence.list(room)).length === 0;
      },
      5000,
      'n1 to reap the silent n2 once the grace is over',
    );
  });
});
