/**
 * The Broker contract (see broker.ts), as one suite that every implementation
 * runs: memory.test.ts and redis.test.ts call `brokerContract` with a factory.
 *
 * Absence is checked with a barrier, never a sleep: a broker delivers one
 * publisher's frames in order, so once a later frame has arrived an earlier
 * one that was going to arrive has arrived too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compareIds, type ChatMessage } from '../protocol.js';
import type { Broker, Delivery, StoredMessage } from './broker.js';

export interface BrokerFactoryOptions {
  historyMaxLen: number;
}

/** Returns a ready broker. Each call may be a fresh store (memory) or share one (Redis, new key prefix). */
export type BrokerFactory = (options: BrokerFactoryOptions) => Promise<Broker>;

/** Collects deliveries and lets a test wait for one without sleeping. */
export class Inbox {
  readonly deliveries: Delivery[] = [];
  private waiters: Array<() => void> = [];

  constructor(broker: Broker) {
    broker.onDelivery((delivery) => {
      this.deliveries.push(delivery);
      const waiters = this.waiters;
      this.waiters = [];
      for (const wake of waiters) wake();
    });
  }

  inRoom(room: string): Delivery[] {
    return this.deliveries.filter((d) => d.room === room);
  }

  /** Resolves with the first delivery matching `predicate` (already received or to come). */
  async waitFor(predicate: (delivery: Delivery) => boolean, timeoutMs = 5000, what = 'a delivery'): Promise<Delivery> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.deliveries.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.deliveries.length} deliveries`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Waits until `count` deliveries of `room` have arrived; returns them. */
  async waitForCount(room: string, count: number, timeoutMs = 5000): Promise<Delivery[]> {
    await this.waitFor(() => this.inRoom(room).length >= count, timeoutMs, `${count} deliveries in ${room}`);
    return this.inRoom(room);
  }
}

/**
 * Polls external state (a connection's readiness, a Redis key) until it
 * holds. Only for state that raises no event we could wait for.
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'a condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

let roomCounter = 0;
/** A room name no other test uses, even against a shared Redis. */
export function uniqueRoom(label = 'room'): string {
  roomCounter++;
  return `${label}-${process.pid}-${roomCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

const alice = { id: 'u_alice', name: 'alice' };

/** Publishes `count` messages one after another; returns them in publish order. */
export async function publishMany(broker: Broker, room: string, count: number, label = 'm'): Promise<StoredMessage[]> {
  const stored: StoredMessage[] = [];
  for (let i = 0; i < count; i++) stored.push(await broker.publish({ room, user: alice, text: `${label}${i}` }));
  return stored;
}

const ids = (messages: { id?: string }[]) => messages.map((m) => m.id);

export function brokerContract(name: string, factory: BrokerFactory): void {
  describe(`Broker contract: ${name}`, () => {
    const opened: Broker[] = [];
    const open = async (historyMaxLen = 1000): Promise<Broker> => {
      const broker = await factory({ historyMaxLen });
      opened.push(broker);
      return broker;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((broker) => broker.close()));
    });

    it('is ready once created', async () => {
      expect((await open()).isReady()).toBe(true);
    });

    it('gives <ms>-<seq> ids that strictly increase within a room', async () => {
      const broker = await open();
      const room = uniqueRoom();
      const sequential = await publishMany(broker, room, 20);
      const concurrent = await Promise.all(
        Array.from({ length: 20 }, (_, i) => broker.publish({ room, user: alice, text: `c${i}` })),
      );
      const all = [...sequential, ...concurrent];
      for (const message of all) expect(message.id).toMatch(/^(0|[1-9]\d*)-(0|[1-9]\d*)$/);
      for (let i = 1; i < sequential.length; i++) expect(compareIds(sequential[i]!.id, sequential[i - 1]!.id)).toBeGreaterThan(0);
      expect(new Set(ids(all)).size).toBe(all.length);
      // Every concurrent publish was stored after the sequential ones.
      for (const message of concurrent) expect(compareIds(message.id, sequential.at(-1)!.id)).toBeGreaterThan(0);
      // ms is a time: close to now.
      const ms = Number(all.at(-1)!.id.split('-')[0]);
      expect(Math.abs(ms - Date.now())).toBeLessThan(60_000);
    });

    it('returns the finished message frame, as sockets receive it', async () => {
      const broker = await open();
      const room = uniqueRoom();
      const text = 'quotes " and \\ backslash, newline\n, tab\t, unicode é 😀 \u2028';
      const stored = await broker.publish({ room, user: { id: 'u"1', name: 'Zoë "Z"' }, text, ref: 'ref-1' });
      const frame = JSON.parse(stored.frame) as ChatMessage;
      expect(frame).toEqual({
        type: 'message',
        room,
        id: stored.id,
        ts: Number(stored.id.split('-')[0]),
        user: { id: 'u"1', name: 'Zoë "Z"' },
        text,
        ref: 'ref-1',
      });
      const withoutRef = JSON.parse((await broker.publish({ room, user: alice, text: 'x' })).frame) as ChatMessage;
      expect('ref' in withoutRef).toBe(false);
    });

    it('delivers to a subscriber in id order, each frame exactly what publish returned', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom();
      await broker.subscribe(room);
      const published = await Promise.all(
        Array.from({ length: 30 }, (_, i) => broker.publish({ room, user: alice, text: `n${i}`, ref: `r${i}` })),
      );
      const delivered = await inbox.waitForCount(room, 30);
      expect(delivered).toHaveLength(30);
      const sortedIds = ids(published).sort((a, b) => compareIds(a!, b!));
      expect(ids(delivered)).toEqual(sortedIds);
      const byId = new Map(published.map((m) => [m.id, m.frame]));
      for (const delivery of delivered) {
        expect(delivery.room).toBe(room);
        expect(delivery.frame).toBe(byId.get(delivery.id!));
        expect(delivery.skip ?? undefined).toBeUndefined();
      }
    });

    it('delivers only subscribed rooms', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const watched = uniqueRoom('watched');
      const other = uniqueRoom('other');
      await broker.subscribe(watched);
      await broker.publish({ room: other, user: alice, text: 'not for us' });
      const barrier = await broker.publish({ room: watched, user: alice, text: 'barrier' });
      await inbox.waitFor((d) => d.id === barrier.id);
      expect(inbox.inRoom(other)).toEqual([]);
    });

    it('stops delivering a room after unsubscribe, and keeps the others', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const leaving = uniqueRoom('leaving');
      const staying = uniqueRoom('staying');
      await broker.subscribe(leaving);
      await broker.subscribe(staying);
      const before = await broker.publish({ room: leaving, user: alice, text: 'before' });
      await inbox.waitFor((d) => d.id === before.id);
      await broker.unsubscribe(leaving);
      await broker.publish({ room: leaving, user: alice, text: 'after' });
      await broker.publishEvent(leaving, '{"type":"typing"}');
      const barrier = await broker.publish({ room: staying, user: alice, text: 'barrier' });
      await inbox.waitFor((d) => d.id === barrier.id);
      expect(ids(inbox.inRoom(leaving))).toEqual([before.id]);
    });

    it('can subscribe again after unsubscribing', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom();
      await broker.subscribe(room);
      await broker.unsubscribe(room);
      await broker.subscribe(room);
      const stored = await broker.publish({ room, user: alice, text: 'again' });
      await inbox.waitFor((d) => d.id === stored.id);
      expect(inbox.inRoom(room)).toHaveLength(1);
    });

    it('history without since: the newest `limit` messages, oldest first', async () => {
      const broker = await open();
      const room = uniqueRoom();
      const stored = await publishMany(broker, room, 8);
      const page = await broker.history(room, { limit: 5 });
      expect(ids(page.messages)).toEqual(ids(stored.slice(3)));
      expect(page.messages.map((m) => m.frame)).toEqual(stored.slice(3).map((m) => m.frame));
      expect(page.truncated).toBe(false);
      expect(ids((await broker.history(room, { limit: 100 })).messages)).toEqual(ids(stored));
    });

    it('history with since: every retained message after it', async () => {
      const broker = await open();
      const room = uniqueRoom();
      const stored = await publishMany(broker, room, 8);
      const after2 = await broker.history(room, { since: stored[2]!.id });
      expect(ids(after2.messages)).toEqual(ids(stored.slice(3)));
      expect(after2.messages.map((m) => m.frame)).toEqual(stored.slice(3).map((m) => m.frame));
      expect(after2.truncated).toBe(false);
      expect(ids((await broker.history(room, { since: '0-0' })).messages)).toEqual(ids(stored));
      expect((await broker.history(room, { since: stored[7]!.id })).messages).toEqual([]);
      // An id between two stored ones (not itself stored) works too.
      const [ms, seq] = stored[4]!.id.split('-');
      const between = `${ms}-${BigInt(seq!) + 1n}`;
      const expected = stored.filter((m) => compareIds(m.id, between) > 0);
      expect(ids((await broker.history(room, { since: between })).messages)).toEqual(ids(expected));
    });

    it('history with before and limit pages backwards, oldest first within a page', async () => {
      const broker = await open();
      const room = uniqueRoom();
      const stored = await publishMany(broker, room, 10);
      expect(ids((await broker.history(room, { before: stored[5]!.id, limit: 3 })).messages)).toEqual(ids(stored.slice(2, 5)));
      expect(ids((await broker.history(room, { before: stored[2]!.id, limit: 50 })).messages)).toEqual(ids(stored.slice(0, 2)));
      expect((await broker.history(room, { before: stored[0]!.id, limit: 50 })).messages).toEqual([]);
      // Walking back page by page visits every message once.
      const walked: string[] = [];
      let before: string | undefined;
      for (;;) {
        const page = await broker.history(room, before === undefined ? { limit: 4 } : { before, limit: 4 });
        if (page.messages.length === 0) break;
        walked.unshift(...ids(page.messages).map(String));
        before = page.messages[0]!.id;
      }
      expect(walked).toEqual(ids(stored));
    });

    it('history of a room never used is empty', async () => {
      const broker = await open();
      const room = uniqueRoom('empty');
      expect(await broker.history(room, { limit: 50 })).toEqual({ messages: [], truncated: false });
      expect(await broker.history(room, { since: '0-0' })).toEqual({ messages: [], truncated: false });
      expect(await broker.history(room, { before: '99999999999999-0', limit: 10 })).toEqual({ messages: [], truncated: false });
    });

    it('trims history to at least historyMaxLen, keeping the newest, and reports truncation exactly', async () => {
      const maxLen = 10;
      const broker = await open(maxLen);
      const room = uniqueRoom('trim');
      const stored = await publishMany(broker, room, 40);
      const retained = (await broker.history(room, { since: '0-0' })).messages;
      expect(retained.length).toBeGreaterThanOrEqual(maxLen);
      expect(retained.length).toBeLessThan(40); // it did trim
      expect(ids(retained)).toEqual(ids(stored.slice(40 - retained.length)));
      expect(ids((await broker.history(room, { limit: 100 })).messages)).toEqual(ids(retained));

      const lastTrimmed = stored[40 - retained.length - 1]!.id;
      const earlierTrimmed = stored[40 - retained.length - 2]!.id;
      // Nothing after the newest trimmed id was lost.
      const fromLastTrimmed = await broker.history(room, { since: lastTrimmed });
      expect(fromLastTrimmed.truncated).toBe(false);
      expect(ids(fromLastTrimmed.messages)).toEqual(ids(retained));
      // The newest trimmed message is after an earlier trimmed id: lost.
      const fromEarlier = await broker.history(room, { since: earlierTrimmed });
      expect(fromEarlier.truncated).toBe(true);
      expect(ids(fromEarlier.messages)).toEqual(ids(retained));
      expect((await broker.history(room, { since: '0-0' })).truncated).toBe(true);
      expect((await broker.history(room, { since: stored[0]!.id })).truncated).toBe(true);
      // From a retained id: exactly the later ones.
      const fromRetained = await broker.history(room, { since: retained[3]!.id });
      expect(fromRetained.truncated).toBe(false);
      expect(ids(fromRetained.messages)).toEqual(ids(retained.slice(4)));
    });

    it('keeps trimming bounded over many publishes', async () => {
      const maxLen = 10;
      const broker = await open(maxLen);
      const room = uniqueRoom('bounded');
      const stored = await publishMany(broker, room, 120);
      const retained = (await broker.history(room, { since: '0-0' })).messages;
      expect(retained.length).toBeGreaterThanOrEqual(maxLen);
      expect(retained.length).toBeLessThanOrEqual(2 * maxLen);
      expect(ids(retained)).toEqual(ids(stored.slice(120 - retained.length)));
    });

    it('publishEvent delivers the frame untouched with its skip, and stores nothing', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom('events');
      await broker.subscribe(room);
      const typing = '{"type":"typing","room":"x","user":{"id":"u","name":"n"}}';
      await broker.publishEvent(room, typing, 'conn-1');
      await broker.publishEvent(room, '{"type":"presence"}');
      const [first, second] = await inbox.waitForCount(room, 2);
      expect(first).toMatchObject({ room, frame: typing, skip: 'conn-1' });
      expect(first!.id).toBeUndefined();
      expect(second).toMatchObject({ room, frame: '{"type":"presence"}' });
      expect(second!.skip || undefined).toBeUndefined();
      expect(second!.id).toBeUndefined();
      expect((await broker.history(room, { since: '0-0' })).messages).toEqual([]);
    });

    it('publish is idempotent by key: the same key stores and publishes once and returns the first message', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom('idem');
      await broker.subscribe(room);
      const first = await broker.publish({ room, user: alice, text: 'once', ref: 'r1', key: 'k1' });
      const again = await broker.publish({ room, user: alice, text: 'once', ref: 'r1', key: 'k1' });
      expect(first.duplicate).toBeFalsy();
      expect(again).toEqual({ id: first.id, frame: first.frame, duplicate: true });
      const other = await broker.publish({ room, user: alice, text: 'other', key: 'k2' });
      await inbox.waitFor((d) => d.id === other.id);
      expect(ids(inbox.inRoom(room))).toEqual([first.id, other.id]);
      expect(ids((await broker.history(room, { limit: 50 })).messages)).toEqual([first.id, other.id]);
    });

    it('replay: one epoch per log; truncated when the epoch differs or since is newer than the newest entry', async () => {
      const broker = await open();
      const room = uniqueRoom('epoch');
      // An empty log holds no id, so any since counts as truncated; without since nothing is.
      const empty = await broker.replay(room, { since: '0-0', limit: 50 });
      expect(empty).toMatchObject({ messages: [], truncated: true });
      expect(empty.epoch).toEqual(expect.any(String));
      expect((await broker.replay(room, { limit: 50 })).truncated).toBe(false);
      const [m1, m2] = await publishMany(broker, room, 2);
      const fresh = await broker.replay(room, { limit: 50 });
      // The epoch a join of the empty room reported is the log's: no false alarm once it has messages.
      expect(fresh.epoch).toBe(empty.epoch);
      expect(ids(fresh.messages)).toEqual([m1!.id, m2!.id]);
      const resumed = await broker.replay(room, { since: m1!.id, epoch: fresh.epoch, limit: 50 });
      expect({ ids: ids(resumed.messages), truncated: resumed.truncated }).toEqual({ ids: [m2!.id], truncated: false });
      expect((await broker.replay(room, { since: m2!.id, epoch: fresh.epoch, limit: 50 })).truncated).toBe(false);
      expect((await broker.replay(room, { since: m1!.id, epoch: 'another-incarnation', limit: 50 })).truncated).toBe(true);
      const ahead = `${Number(m2!.id.split('-')[0]) + 1000}-0`;
      expect((await broker.replay(room, { since: ahead, epoch: fresh.epoch, limit: 50 })).truncated).toBe(true);
      expect((await broker.replay(room, { since: '18446744073709551615-18446744073709551615', limit: 50 })).messages).toEqual([]);
    });

    it('keeps rooms apart: ids, history and deliveries', async () => {
      const broker = await open();
      const inbox = new Inbox(broker);
      const a = uniqueRoom('a');
      const b = uniqueRoom('b');
      await broker.subscribe(a);
      await broker.subscribe(b);
      const inA = await publishMany(broker, a, 3, 'a');
      const inB = await publishMany(broker, b, 2, 'b');
      await inbox.waitForCount(a, 3);
      await inbox.waitForCount(b, 2);
      expect(ids(inbox.inRoom(a))).toEqual(ids(inA));
      expect(ids(inbox.inRoom(b))).toEqual(ids(inB));
      expect(ids((await broker.history(a, { limit: 50 })).messages)).toEqual(ids(inA));
      expect(ids((await broker.history(b, { limit: 50 })).messages)).toEqual(ids(inB));
    });
  });
}
