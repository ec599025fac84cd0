/**
 * RedisBroker against a real redis-server on a free loopback port: the shared
 * contract, then what only a shared store can show (two brokers, one history)
 * and an outage (Redis stopped and started again).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startRedis, type RedisHandle } from '@roomcast/deploy/local';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compareIds } from '../protocol.js';
import { Inbox, brokerContract, publishMany, uniqueRoom, until } from './broker.contract.js';

const ids = (messages: { id: string }[]) => messages.map((m) => m.id);
import { RedisBroker } from './redis.js';

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
});
afterAll(async () => {
  await redis?.stop();
});

let prefixes = 0;
const opened: RedisBroker[] = [];

async function openBroker(url: string, historyMaxLen: number, keyPrefix = `t${++prefixes}`): Promise<RedisBroker> {
  const broker = new RedisBroker({ redis: { mode: 'single', url, tls: false }, historyMaxLen, commandTimeoutMs: 2000, keyPrefix });
  opened.push(broker);
  await until(() => broker.isReady(), 10_000, 'the Redis broker to connect');
  return broker;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((broker) => broker.close()));
});

brokerContract('RedisBroker', ({ historyMaxLen }) => openBroker(redis.url, historyMaxLen));

describe('RedisBroker when Redis loses a log (section C)', () => {
  it("a client resuming with its old since and epoch after the room's log was deleted is told truncated", async () => {
    const broker = await openBroker(redis.url, 1000);
    const room = uniqueRoom('lost');
    const [, last] = await publishMany(broker, room, 2);
    const { epoch } = await broker.replay(room, { limit: 50 });
    await broker.client.del(broker.keys.log(room));
    expect(await broker.replay(room, { since: last!.id, epoch, limit: 50 })).toMatchObject({ messages: [], truncated: true, epoch });
    // New messages after the loss do not hide it from a client whose epoch is gone with the data.
    await broker.client.del(broker.keys.epoch(room));
    const after = await publishMany(broker, room, 1, 'after');
    const resumed = await broker.replay(room, { since: last!.id, epoch, limit: 50 });
    expect(resumed.epoch).not.toBe(epoch);
    expect(resumed.truncated).toBe(true);
    expect(ids(resumed.messages)).toEqual(ids(after));
  });
});

describe('RedisBroker.checkLog (a failover lost the newest writes)', () => {
  it('renames the epoch once when the log lost an entry a replica saw, not for a trimmed one', async () => {
    const broker = await openBroker(redis.url, 10);
    const room = uniqueRoom('checked');
    const stored = await publishMany(broker, room, 13);
    const { epoch } = await broker.replay(room, { limit: 50 });
    expect(await broker.checkLog(room, stored.at(-1)!.id)).toBe(false); // held
    expect(await broker.checkLog(room, stored[0]!.id)).toBe(false); // trimmed, not lost
    // The newest two writes never reached the new master.
    await broker.client.xdel(broker.keys.log(room), stored.at(-1)!.id, stored.at(-2)!.id);
    expect(await broker.checkLog(room, stored.at(-1)!.id)).toBe(true);
    const renamed = (await broker.replay(room, { limit: 50 })).epoch;
    expect(renamed).not.toBe(epoch);
    // Another replica noticing the same loss (or an older id of it) does not rename it again.
    expect(await broker.checkLog(room, stored.at(-2)!.id)).toBe(false);
    expect(await broker.checkLog(room, stored.at(-1)!.id)).toBe(false);
    expect((await broker.replay(room, { limit: 50 })).epoch).toBe(renamed);
    // So a client resuming with the old epoch is told.
    expect((await broker.replay(room, { since: stored.at(-3)!.id, epoch, limit: 50 })).truncated).toBe(true);
  });
});

describe('RedisBroker across processes (two brokers, one Redis)', () => {
  it('a message published by one broker reaches the other with the same id and frame', async () => {
    const prefix = `shared${++prefixes}`;
    const a = await openBroker(redis.url, 1000, prefix);
    const b = await openBroker(redis.url, 1000, prefix);
    const inboxB = new Inbox(b);
    const room = uniqueRoom('x');
    await b.subscribe(room);
    const stored = await a.publish({ room, user: { id: 'u1', name: 'one' }, text: 'hello from a' });
    const delivery = await inboxB.waitFor((d) => d.id === stored.id);
    expect(delivery.frame).toBe(stored.frame);
    expect((await b.history(room, { limit: 10 })).messages).toEqual([stored]);
  });

  it('concurrent publishers: every subscriber sees one identical order, ids increasing', async () => {
    const prefix = `shared${++prefixes}`;
    const a = await openBroker(redis.url, 1000, prefix);
    const b = await openBroker(redis.url, 1000, prefix);
    const inboxA = new Inbox(a);
    const inboxB = new Inbox(b);
    const room = uniqueRoom('race');
    await a.subscribe(room);
    await b.subscribe(room);
    await Promise.all([publishMany(a, room, 40, 'a'), publishMany(b, room, 40, 'b')]);
    const seenA = (await inboxA.waitForCount(room, 80)).map((d) => d.id!);
    const seenB = (await inboxB.waitForCount(room, 80)).map((d) => d.id!);
    expect(seenA).toEqual(seenB);
    for (let i = 1; i < seenA.length; i++) expect(compareIds(seenA[i]!, seenA[i - 1]!)).toBeGreaterThan(0);
    const history = (await a.history(room, { since: '0-0' })).messages.map((m) => m.id);
    expect(history).toEqual(seenA);
  });
});

describe('RedisBroker connection errors', () => {
  it('survives an error event of its Redis connection with no listener of its own', async () => {
    // ioredis emits 'error' for every failed reconnect attempt while Redis is
    // down (ECONNREFUSED, ECONNRESET). A replica must not crash on one.
    const broker = await openBroker(redis.url, 1000);
    expect(() => broker.client.emit('error', new Error('connect ECONNREFUSED 127.0.0.1:1'))).not.toThrow();
    expect(broker.isReady()).toBe(true);
  });
});

describe('RedisBroker through a Redis outage', () => {
  let flaky: RedisHandle;
  let dataDir: string;
  beforeAll(async () => {
    // A data dir of our own: stop() keeps it, so restart() can start Redis again after a stop().
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-broker-outage-'));
    flaky = await startRedis({ appendonly: false, dataDir });
  });
  afterAll(async () => {
    await flaky?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('goes down, fails fast instead of hanging, then comes back and resubscribes by itself', async () => {
    const broker = await openBroker(flaky.url, 1000);
    const inbox = new Inbox(broker);
    const events: string[] = [];
    for (const event of ['down', 'up'] as const) broker.on(event, () => events.push(event));
    broker.onLapses({ lapsed: (rooms) => events.push(`lapsed ${rooms.join(',')}`), restored: (rooms) => events.push(`restored ${rooms.join(',')}`) });
    const room = uniqueRoom('outage');
    await broker.subscribe(room);
    const before = await broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'before' });
    await inbox.waitFor((d) => d.id === before.id);

    await flaky.stop();
    await until(() => events.includes('down'), 10_000, 'the down event');
    expect(events).toContain(`lapsed ${room}`);
    expect(broker.isReady()).toBe(false);
    // Every call rejects, and none hangs (the test timeout would catch a hang).
    await expect(broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'lost' })).rejects.toBeInstanceOf(Error);
    await expect(broker.history(room, { limit: 10 })).rejects.toBeInstanceOf(Error);
    await expect(broker.publishEvent(room, '{"type":"typing"}')).rejects.toBeInstanceOf(Error);

    await flaky.restart();
    await until(() => events.includes(`restored ${room}`), 15_000, 'the restored event naming the room');
    expect(events.indexOf('up')).toBeGreaterThan(events.indexOf('down'));
    expect(events.indexOf(`restored ${room}`)).toBeGreaterThan(events.indexOf(`lapsed ${room}`));
    expect(broker.isReady()).toBe(true);
    // The subscription came back without anyone calling subscribe again.
    const after = await broker.publish({ room, user: { id: 'u', name: 'u' }, text: 'after' });
    await inbox.waitFor((d) => d.id === after.id, 5000, 'the message published after the restart');
  });
});
