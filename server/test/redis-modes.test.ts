/**
 * The Broker, PresenceManager and RoomStore contracts on the two other Redis
 * modes — a Redis Cluster (3 masters + 3 replicas) and a Sentinel-managed
 * master — on the run's shared topologies (test/support/shared-redis.ts),
 * plus what only a cluster shows: rooms spread over the shards.
 */
import { redisEnv, type RedisTopology } from '@roomcast/deploy/local';
import calculateSlot from 'cluster-key-slot';
import type { Cluster, Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { brokerContract, until } from '../src/broker/broker.contract.js';
import { RedisBroker } from '../src/broker/redis.js';
import { loadConfig, type RedisTarget } from '../src/config.js';
import { presenceContract } from '../src/presence/presence.contract.js';
import { RedisPresence } from '../src/presence/redis.js';
import { RedisRoomStore } from '../src/rooms/redis.js';
import { roomStoreContract } from '../src/rooms/store.contract.js';
import { useSharedCluster, useSharedSentinel } from './support/redis-topologies.js';

/** The server's own reading of the settings the launcher gives a replica. */
const targetOf = (topology: RedisTopology): RedisTarget => loadConfig(redisEnv(topology)).redis!;

const closers: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

let prefixes = 0;
async function openBroker(topology: RedisTopology, historyMaxLen = 1000, connectionName?: string): Promise<RedisBroker> {
  const broker = new RedisBroker({ redis: targetOf(topology), historyMaxLen, commandTimeoutMs: 5000, keyPrefix: `m${++prefixes}`, connectionName });
  closers.push(() => broker.close());
  await until(() => broker.isReady(), 15_000, `the ${topology.mode} broker to connect`);
  return broker;
}

function contracts(mode: string, topology: () => RedisTopology): void {
  brokerContract(`RedisBroker on ${mode}`, ({ historyMaxLen }) => openBroker(topology(), historyMaxLen));
  presenceContract(`RedisPresence on ${mode}`, async () => {
    const broker = await openBroker(topology());
    const presence = new RedisPresence({ redis: broker.client, keys: broker.keys, nodeId: 'n1', heartbeatMs: 100, ttlMs: 400, sweepMs: 100 });
    closers.push(() => presence.close());
    return { presence, broker, close: async () => undefined };
  });
  roomStoreContract(`RedisRoomStore on ${mode}`, async () => {
    const broker = await openBroker(topology());
    const presence = new RedisPresence({ redis: broker.client, keys: broker.keys, nodeId: 'n1', heartbeatMs: 1000, ttlMs: 5000, sweepMs: 1000 });
    closers.push(() => presence.close());
    const store = new RedisRoomStore({ redis: broker.client, keys: broker.keys, idleTtlMs: 0 });
    return { broker, presence, store, close: async () => undefined };
  });
}

/** Drops the connection named `name` on one server (as a crash or a network cut would). */
async function dropConnection(server: Redis, name: string): Promise<void> {
  const clients = String(await server.call('CLIENT', 'LIST')).split('\n');
  const ours = clients.filter((line) => line.includes(` name=${name} `));
  expect(ours, `the connection named ${name}`).toHaveLength(1);
  await server.client('KILL', 'ID', ours[0]!.match(/^id=(\d+)/)![1]!);
}

/**
 * A broker that records what it reports of its rooms' subscriptions. The
 * lapse must be said the moment the connection is lost, before anything that
 * could follow the gap: the feed holds its deliveries from then on.
 */
async function watchedBroker(topology: RedisTopology) {
  const name = `lapse-${process.pid}-${++prefixes}`;
  const broker = await openBroker(topology, 1000, name);
  const events: string[] = [];
  broker.onDelivery(() => undefined);
  broker.onLapses({
    lapsed: (rooms) => events.push(`lapsed ${rooms.sort().join(',')}`),
    restored: (rooms) => events.push(`restored ${rooms.sort().join(',')}`),
  });
  return { broker, name, events };
}

describe('Redis Cluster (3 masters + 3 replicas)', () => {
  const shared = useSharedCluster();
  contracts('a Redis Cluster', () => shared.topology);

  it("a room's messages are published over the subscriber connection to its master (the reply and the own copy in one read)", async () => {
    const { broker, name } = await watchedBroker(shared.topology);
    const cluster = broker.client as Cluster;
    const room = 'direct-publish';
    const owner = cluster.slots[calculateSlot(broker.keys.channel(room))]![0]!;
    const master = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === owner)!;
    const lastCommandOf = async (connection: string) =>
      String(await master.call('CLIENT', 'LIST'))
        .split('\n')
        .find((line) => line.includes(` name=${connection} `))
        ?.match(/ cmd=(\S+)/)?.[1];
    // Not subscribed: the Cluster client carries it.
    await broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'before' });
    expect(await lastCommandOf(`${name}:sub`)).toBeUndefined();
    await broker.subscribe(room);
    await broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'after' });
    // EVAL the first time on a connection, EVALSHA after.
    expect(['eval', 'evalsha']).toContain(await lastCommandOf(`${name}:sub`));
  });

  it("a shard's subscriber connection lost: its rooms are reported lapsed at once, then restored; another shard's rooms are not", async () => {
    const { broker, name, events } = await watchedBroker(shared.topology);
    const cluster = broker.client as Cluster;
    const ownerOf = (room: string) => cluster.slots[calculateSlot(broker.keys.channel(room))]![0]!;
    const here = 'lapse-here';
    let there = '';
    for (let i = 0; !there; i++) if (ownerOf(`lapse-there-${i}`) !== ownerOf(here)) there = `lapse-there-${i}`;
    await broker.subscribe(here);
    await broker.subscribe(there);
    const master = cluster.nodes('master').find((node) => `${node.options.host}:${node.options.port}` === ownerOf(here))!;
    // In a Cluster each shard's subscriptions have a connection of their own.
    await dropConnection(master, `${name}:sub`);
    await until(() => events.length >= 2, 10_000, 'the lapse and the restore');
    expect(events).toEqual([`lapsed ${here}`, `restored ${here}`]);
  });

  it('spreads rooms over the shards: every key and channel of a room in its slot', async () => {
    const broker = await openBroker(shared.topology);
    const rooms = Array.from({ length: 100 }, (_, i) => `spread-${i}`);
    for (const room of rooms) await broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'hi' });
    const cluster = broker.client as Cluster;
    const perMaster = await Promise.all(cluster.nodes('master').map(async (node) => (await node.keys(`${broker.keys.prefix}:*`)).length));
    console.log(`keys per shard for 100 rooms (3 per room: log, epoch, idempotency key): ${perMaster.join(', ')}`);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(300);
    expect(perMaster).toHaveLength(3);
    // Each master holds a share (±50 % of the mean would already be suspicious for 100 rooms).
    for (const count of perMaster) expect(count).toBeGreaterThan(0);
    for (const room of rooms) {
      const slot = calculateSlot(broker.keys.channel(room));
      for (const key of [broker.keys.log(room), broker.keys.epoch(room), broker.keys.meta(room)]) expect(calculateSlot(key)).toBe(slot);
    }
  });
});

describe('Redis Sentinel (master + replica + 3 sentinels)', () => {
  const shared = useSharedSentinel();
  contracts('Sentinel', () => shared.topology);

  it('the subscriber connection lost: every room is reported lapsed at once, then restored', async () => {
    const { broker, name, events } = await watchedBroker(shared.topology);
    await broker.subscribe('lapse-a');
    await broker.subscribe('lapse-b');
    await broker.subscribeUser('u_lapse');
    // On one server, commands and subscriptions share the broker's one connection.
    // From a connection of its own: a client killing itself does not see its own connection drop.
    const admin = (broker.client as Redis).duplicate({ connectionName: 'admin', enableOfflineQueue: true });
    closers.push(async () => admin.disconnect());
    await dropConnection(admin, name);
    await until(() => events.length >= 2, 10_000, 'the lapse and the restore');
    // A user's channel has no log and no gap to fill: only rooms are reported.
    expect(events).toEqual(['lapsed lapse-a,lapse-b', 'restored lapse-a,lapse-b']);
  });
});
