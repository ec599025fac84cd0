/**
 * Three replicas and nginx on a Redis Cluster of 3 masters (+ 3 replicas),
 * the run's shared one: a room's messages, presence and typing reach every
 * replica exactly once and in order, whatever shard the room lives on; and
 * a kill -9 of the master that owns a busy room's slot is survived without
 * restarting any replica.
 */
import { redisCommand, type Cluster } from '@roomcast/deploy/local';
import calculateSlot from 'cluster-key-slot';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ChatMessage, PresenceFrame } from '../src/protocol.js';
import { TestClient, closeAll, isMessage, newRef } from './support/client.js';
import { replicaLogs, replicaWsUrl, startTestClusterOn } from './support/cluster.js';
import { failoverUnderLoad } from './support/failover.js';
import { until } from './support/http.js';
import { useSharedCluster } from './support/redis-topologies.js';
import { mintToken, nowSeconds } from './support/tokens.js';

const redis = useSharedCluster();
let cluster: Cluster;
const clients: TestClient[] = [];

beforeAll(async () => {
  cluster = await startTestClusterOn(redis.topology, { REDIS_COMMAND_TIMEOUT_MS: '1000' });
});
beforeEach(() => onTestFailed(() => console.error(replicaLogs(cluster))));
afterAll(async () => {
  await closeAll(clients);
  await cluster?.stop();
});

describe('three replicas on a 3-master Redis Cluster', () => {
  it('messages, presence and typing of rooms on every shard reach every replica exactly once, in order', async () => {
    // Rooms whose slots are spread over the masters.
    const rooms = Array.from({ length: 6 }, (_, i) => `spread-${process.pid}-${i}`);
    const masters = new Set(await Promise.all(rooms.map((room) => redis.topology.masterFor(`{${room}}`))));
    expect(masters.size).toBeGreaterThan(1);
    const urls = [replicaWsUrl(cluster, 0), replicaWsUrl(cluster, 1), replicaWsUrl(cluster, 2), cluster.wsUrl];
    const names = ['on-n1', 'on-n2', 'on-n3', 'via-nginx'];
    for (const [i, url] of urls.entries()) {
      const token = await mintToken(cluster.secret, { sub: `u_${names[i]}`, name: names[i]!, exp: nowSeconds() + 3600 });
      const client = await TestClient.connect(url, token, names[i], 10_000, true);
      for (const room of rooms) await client.join(room);
      clients.push(client);
    }
    // Presence: everyone sees everyone in every room.
    const present = (client: TestClient, room: string) => {
      const joined = client.received.find((f) => f.type === 'joined' && f.room === room) as { users: { name: string }[] };
      const view = new Set(joined.users.map((u) => u.name));
      for (const f of client.received) {
        if (f.type !== 'presence' || f.room !== room) continue;
        for (const u of (f as PresenceFrame).left) view.delete(u.name);
        for (const u of (f as PresenceFrame).joined) view.add(u.name);
      }
      return [...view].sort();
    };
    await until(() => clients.every((c) => rooms.every((r) => present(c, r).join() === [...names].sort().join())), 10_000, 'presence everywhere');

    for (const room of rooms) {
      clients[0]!.send({ type: 'typing', room });
      for (const client of clients) for (let k = 0; k < 3; k++) client.send({ type: 'send', room, text: `${client.label}-${k}`, ref: newRef('m') });
    }
    const barriers: ChatMessage[] = [];
    for (const room of rooms) barriers.push((await clients[0]!.say(room, 'barrier')) as ChatMessage);
    for (const client of clients) for (const [i, room] of rooms.entries()) await client.waitForId(room, barriers[i]!.id, 10_000);
    for (const room of rooms) {
      const orders = clients.map((client) => client.messages(room).map((m) => m.id));
      expect(orders[0]).toHaveLength(clients.length * 3 + 1);
      for (const order of orders) expect(order).toEqual(orders[0]);
      expect([...orders[0]!].sort((a, b) => (a < b ? -1 : 1))).toHaveLength(new Set(orders[0]).size);
      for (const client of clients.slice(1)) {
        expect(client.received.filter((f) => f.type === 'typing' && f.room === room)).toHaveLength(1);
      }
      expect(clients[0]!.received.filter((f) => f.type === 'typing' && f.room === room)).toHaveLength(0);
    }
    expect(clients.every((c) => c.received.filter(isMessage).length === rooms.length * (clients.length * 3 + 1))).toBe(true);
  });

  it("a room whose slot migrates to another master keeps its feed: every message reaches every replica once, in order", async () => {
    const room = `migrating-${process.pid}`;
    const topology = redis.topology;
    const password = topology.password;
    const command = (port: number, args: string[]) => redisCommand(port, args, 5000, { password });
    const slot = calculateSlot(`{${room}}`);
    const source = await topology.masterFor(slot);
    const masters = (await topology.nodes()).filter((n) => n.role === 'master' && n.alive).map((n) => n.port);
    const target = masters.find((port) => port !== source)!;
    const [sourceId, targetId] = await Promise.all([command(source, ['CLUSTER', 'MYID']), command(target, ['CLUSTER', 'MYID'])]);

    const watchers: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const token = await mintToken(cluster.secret, { sub: `u_watch${i}`, name: `watch${i}`, exp: nowSeconds() + 3600 });
      const client = await TestClient.connect(replicaWsUrl(cluster, i), token, `watch${i}@n${i + 1}`, 10_000, true);
      await client.join(room);
      watchers.push(client);
      clients.push(client);
    }
    for (let k = 0; k < 5; k++) await watchers[k % 3]!.say(room, `before-${k}`);

    // Move the slot, keys and all (what redis-cli --cluster reshard does, for one slot).
    await command(target, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', String(sourceId)]);
    await command(source, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', String(targetId)]);
    const keys = (await command(source, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '1000'])) as string[];
    const auth = password === undefined ? [] : ['AUTH', password];
    if (keys.length > 0) await command(source, ['MIGRATE', '127.0.0.1', String(target), '', '0', '5000', ...auth, 'KEYS', ...keys]);
    for (const port of masters) await command(port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', String(targetId)]);
    expect(await topology.masterFor(slot)).toBe(target);
    // Each replica follows the slot at once, on the SUNSUBSCRIBE the old master pushes, not at its next
    // periodic slot refresh (10 s): all three subscribe on the new master, before anyone publishes there.
    const channel = `rc:{${room}}`;
    await until(async () => ((await command(target, ['PUBSUB', 'SHARDNUMSUB', channel])) as [string, number])[1] === 3, 4000, 'the replicas to subscribe on the new master');

    // Published on the new master, right away and a little later: nobody misses them.
    const after: ChatMessage[] = [];
    for (let k = 0; k < 5; k++) after.push((await watchers[k % 3]!.say(room, `after-${k}`, newRef('after'), 15_000)) as ChatMessage);
    for (const watcher of watchers) for (const message of after) await watcher.waitForId(room, message.id, 15_000);
    const orders = watchers.map((w) => w.messages(room).map((m) => m.id));
    for (const order of orders) {
      expect(order).toEqual(orders[0]);
      expect(new Set(order).size).toBe(order.length);
    }
    expect(orders[0]).toHaveLength(10);
  });

  it('survives a kill -9 of the master that owns a busy room, under load, without restarting a replica', async () => {
    const room = `busy-${process.pid}`;
    const pids = cluster.replicas.map((replica) => replica.pid);
    let killed = 0;
    // A room on another shard, and a client in it: its sends must go on while the busy room's shard fails over.
    const busyMaster = await redis.topology.masterFor(`{${room}}`);
    let calm = '';
    for (let i = 0; !calm; i++) if ((await redis.topology.masterFor(`{calm-${i}}`)) !== busyMaster) calm = `calm-${i}`;
    const token = await mintToken(cluster.secret, { sub: 'u_calm', name: 'calm', exp: nowSeconds() + 3600 });
    const bystander = await TestClient.connect(replicaWsUrl(cluster, 1), token, 'calm', 10_000, true);
    clients.push(bystander);
    await bystander.join(calm);
    const report = await failoverUnderLoad(cluster, room, async () => {
      killed = busyMaster;
      await redis.topology.kill(killed);
      expect((await bystander.say(calm, 'the other shards still take messages', newRef('calm'), 10_000)).type).toBe('message');
      await redis.topology.waitForFailover(killed);
    });
    console.log(`cluster failover under load: ${JSON.stringify(report)}`);
    expect(report.acknowledged).toBeGreaterThan(0);
    expect(cluster.replicas.map((replica) => replica.pid)).toEqual(pids);
    expect(cluster.replicas.every((replica) => replica.alive)).toBe(true);
    await redis.topology.restart(killed);
  });
});
