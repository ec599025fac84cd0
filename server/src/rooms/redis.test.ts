/**
 * RedisRoomStore against a real redis-server on a free loopback port: the
 * shared contract (a key prefix of its own per store), then the idle expiry
 * of a room's keys, which only Redis keeps as key TTLs.
 */
import { startRedis, type RedisHandle } from '@roomcast/deploy/local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { uniqueRoom, until } from '../broker/broker.contract.js';
import { RedisBroker } from '../broker/redis.js';
import { RedisPresence } from '../presence/redis.js';
import type { User } from '../protocol.js';
import { RedisRoomStore } from './redis.js';
import { dmRoomName } from './store.js';
import { roomStoreContract } from './store.contract.js';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
});
afterAll(async () => {
  await redis?.stop();
});

let prefixes = 0;
const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

/** A broker, presence and store on a fresh key prefix, all sharing the broker's command connection (as app.ts wires them). */
async function openStore(idleTtlMs: number) {
  const broker = new RedisBroker({ redis: { mode: 'single', url: redis.url, tls: false }, historyMaxLen: 1000, commandTimeoutMs: 2000, keyPrefix: `r${++prefixes}`, idleTtlMs });
  closers.push(() => broker.close());
  await until(() => broker.isReady(), 10_000, 'the Redis broker to connect');
  const presence = new RedisPresence({ redis: broker.client, keys: broker.keys, nodeId: 'n1', heartbeatMs: 1000, ttlMs: 5000, sweepMs: 1000 });
  closers.push(() => presence.close()); // runs before the broker closes
  const store = new RedisRoomStore({ redis: broker.client, keys: broker.keys, idleTtlMs });
  return { broker, presence, store };
}

roomStoreContract('RedisRoomStore', async () => ({ ...(await openStore(0)), close: async () => undefined }));

const alice: User = { id: 'u_alice', name: 'Alice' };
const bob: User = { id: 'u_bob', name: 'Bob' };

describe("RedisRoomStore idle expiry of a room's keys", () => {
  const TTL = 60_000;

  function recordKeys(broker: RedisBroker, room: string) {
    return { meta: broker.keys.meta(room), members: broker.keys.members(room), names: broker.keys.names(room) };
  }

  async function pttls(broker: RedisBroker, keys: Record<string, string>): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const [label, key] of Object.entries(keys)) out[label] = await broker.client.pttl(key);
    return out;
  }

  const withinTtl = (ttl: number) => expect.toSatisfy((ms: number) => ms > 0 && ms <= ttl, `0 < PTTL <= ${ttl}`);

  it('with idleTtlMs, create and publish give meta, members, names and log an expiry of at most the TTL', async () => {
    const { broker, store } = await openStore(TTL);
    const room = uniqueRoom('ttl');
    await store.create({ room, private: true, owner: alice, members: [bob.id] });
    const afterCreate = await pttls(broker, recordKeys(broker, room));
    expect(afterCreate).toEqual({ meta: withinTtl(TTL), members: withinTtl(TTL), names: withinTtl(TTL) });

    await broker.publish({ room, user: alice, text: 'hello' });
    const afterPublish = await pttls(broker, { ...recordKeys(broker, room), log: broker.keys.log(room) });
    expect(afterPublish).toEqual({ meta: withinTtl(TTL), members: withinTtl(TTL), names: withinTtl(TTL), log: withinTtl(TTL) });
  });

  it('with idleTtlMs 0, nothing of the room expires', async () => {
    const { broker, store } = await openStore(0);
    const room = uniqueRoom('forever');
    await store.create({ room, private: true, owner: alice, members: [bob.id] });
    await broker.publish({ room, user: alice, text: 'hello' });
    await store.setRole(room, 'u_carol', 'admin');
    expect(await pttls(broker, { ...recordKeys(broker, room), log: broker.keys.log(room) })).toEqual({ meta: -1, members: -1, names: -1, log: -1 });
  });

  it('ensureDm gives the DM record an expiry of at most the TTL', async () => {
    const { broker, store } = await openStore(TTL);
    const room = dmRoomName(alice.id, bob.id);
    await store.ensureDm(room, alice, bob.id);
    expect(await pttls(broker, recordKeys(broker, room))).toEqual({ meta: withinTtl(TTL), members: withinTtl(TTL), names: withinTtl(TTL) });
  });

  /*
   * "Every write refreshes the room's idle expiry" (store.ts): the keys are
   * first given a short expiry by hand, so a refresh shows as a PTTL above it.
   * Every key of the record must be refreshed together, or one of them (the
   * names) expires before the others and member lists lose their names.
   */
  it('setRole refreshes the expiry of every key of the record', async () => {
    const { broker, store } = await openStore(TTL);
    const room = uniqueRoom('refresh');
    await store.create({ room, private: true, owner: alice, members: [bob.id] });
    const keys = recordKeys(broker, room);
    const SHORT = 5_000;
    for (const key of Object.values(keys)) await broker.client.pexpire(key, SHORT);

    await store.setRole(room, 'u_carol', 'member');
    const refreshed = expect.toSatisfy((ms: number) => ms > SHORT && ms <= TTL, `${SHORT} < PTTL <= ${TTL} (refreshed)`);
    expect(await pttls(broker, keys)).toEqual({ meta: refreshed, members: refreshed, names: refreshed });
  });

  it('rememberName on a room without a record leaves no key that never expires', async () => {
    const { broker, store } = await openStore(TTL);
    const room = uniqueRoom('ghost');
    await store.rememberName(room, bob);
    // -2: no key; a key must carry an expiry (-1 would stay in Redis forever).
    expect(await broker.client.pttl(broker.keys.names(room))).not.toBe(-1);
  });
});
