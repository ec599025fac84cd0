/**
 * The PresenceManager contract (see presence.ts), run by memory.test.ts and
 * redis.test.ts. Diffs are observed as a node would: through the broker the
 * presence manager publishes on.
 *
 * "Nothing was published" is checked with a barrier: after the action, the
 * test publishes a marker event on the same broker; once the marker arrived,
 * a diff published before it would have arrived too.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Delivery } from '../broker/broker.js';
import { Inbox, uniqueRoom } from '../broker/broker.contract.js';
import type { PresenceFrame, User } from '../protocol.js';
import type { PresenceManager } from './presence.js';

export interface PresenceFixture {
  presence: PresenceManager;
  /** The broker the presence manager publishes diffs on (ready; not yet subscribed to anything). */
  broker: Broker;
  /** Closes the presence manager (if still open) and the broker. */
  close(): Promise<void>;
}

export type PresenceFactory = () => Promise<PresenceFixture>;

const alice: User = { id: 'u_alice', name: 'alice' };
const bob: User = { id: 'u_bob', name: 'bob' };

function presenceOf(delivery: Delivery): PresenceFrame | undefined {
  const frame = JSON.parse(delivery.frame) as { type: string };
  return frame.type === 'presence' ? (frame as PresenceFrame) : undefined;
}

const byId = (users: User[]) => [...users].sort((a, b) => a.id.localeCompare(b.id));

/** Watches one room's deliveries; `settle` returns the presence diffs published so far. */
export class RoomWatch {
  private markers = 0;

  constructor(
    readonly broker: Broker,
    readonly inbox: Inbox,
    readonly room: string,
  ) {}

  static async open(broker: Broker, room = uniqueRoom('presence')): Promise<RoomWatch> {
    const inbox = new Inbox(broker);
    await broker.subscribe(room);
    return new RoomWatch(broker, inbox, room);
  }

  /** Deliveries of presence diffs, in arrival order, once everything published so far has arrived. */
  async settle(): Promise<Delivery[]> {
    const marker = `{"type":"marker","n":${++this.markers}}`;
    await this.broker.publishEvent(this.room, marker);
    await this.inbox.waitFor((d) => d.room === this.room && d.frame === marker, 5000, 'the marker event');
    return this.diffs();
  }

  diffs(): Delivery[] {
    return this.inbox.inRoom(this.room).filter((d) => presenceOf(d) !== undefined);
  }

  /** Waits for a presence diff matching `predicate` (e.g. a sweep of a dead node). */
  waitForDiff(predicate: (frame: PresenceFrame) => boolean, timeoutMs: number, what: string): Promise<Delivery> {
    return this.inbox.waitFor(
      (d) => {
        if (d.room !== this.room) return false;
        const frame = presenceOf(d);
        return frame !== undefined && predicate(frame);
      },
      timeoutMs,
      what,
    );
  }
}

export function diffFrame(delivery: Delivery): PresenceFrame {
  return JSON.parse(delivery.frame) as PresenceFrame;
}

export function presenceContract(name: string, factory: PresenceFactory): void {
  describe(`PresenceManager contract: ${name}`, () => {
    const opened: PresenceFixture[] = [];
    const open = async (): Promise<PresenceFixture> => {
      const fixture = await factory();
      opened.push(fixture);
      return fixture;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((fixture) => fixture.close()));
    });

    it('join returns the room users, the joiner included', async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      expect(await presence.join(watch.room, { connectionId: 'c1', user: alice })).toEqual([alice]);
      expect(byId(await presence.join(watch.room, { connectionId: 'c2', user: bob }))).toEqual(byId([alice, bob]));
    });

    it("a user's first connection publishes a joined diff that skips the joining connection", async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      const diffs = await watch.settle();
      expect(diffs).toHaveLength(1);
      expect(diffs[0]!.skip).toBe('c1');
      expect(diffs[0]!.id).toBeUndefined();
      expect(diffFrame(diffs[0]!)).toEqual({ type: 'presence', room: watch.room, joined: [alice], left: [] });
    });

    it("a user's second connection publishes nothing and the user is listed once", async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      expect(await presence.join(watch.room, { connectionId: 'c2', user: alice })).toEqual([alice]);
      expect(await watch.settle()).toHaveLength(1);
      expect(await presence.list(watch.room)).toEqual([alice]);
    });

    it('joining again with the same connection changes nothing', async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      expect(await presence.join(watch.room, { connectionId: 'c1', user: alice })).toEqual([alice]);
      expect(await watch.settle()).toHaveLength(1);
      // One leave is enough to remove it.
      await presence.leave(watch.room, 'c1');
      expect(await presence.list(watch.room)).toEqual([]);
    });

    it("only the user's last leaving connection publishes a left diff", async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      await presence.join(watch.room, { connectionId: 'c2', user: alice });
      await presence.join(watch.room, { connectionId: 'c3', user: bob });
      expect(await watch.settle()).toHaveLength(2);

      await presence.leave(watch.room, 'c1');
      expect(await watch.settle()).toHaveLength(2);
      expect(byId(await presence.list(watch.room))).toEqual(byId([alice, bob]));

      await presence.leave(watch.room, 'c2');
      const diffs = await watch.settle();
      expect(diffs).toHaveLength(3);
      expect(diffFrame(diffs[2]!)).toEqual({ type: 'presence', room: watch.room, joined: [], left: [alice] });
      expect(diffs[2]!.skip || undefined).toBeUndefined();
      expect(await presence.list(watch.room)).toEqual([bob]);
    });

    it('leave is idempotent, and leaving a connection that never joined is a no-op', async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      await presence.leave(watch.room, 'c1');
      await presence.leave(watch.room, 'c1');
      await presence.leave(watch.room, 'never-joined');
      await presence.leave(uniqueRoom('unused'), 'c1');
      const diffs = await watch.settle();
      expect(diffs.map((d) => diffFrame(d))).toEqual([
        { type: 'presence', room: watch.room, joined: [alice], left: [] },
        { type: 'presence', room: watch.room, joined: [], left: [alice] },
      ]);
      expect(await presence.list(watch.room)).toEqual([]);
    });

    it('a user can come back after leaving', async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      await presence.join(watch.room, { connectionId: 'c1', user: alice });
      await presence.leave(watch.room, 'c1');
      expect(await presence.join(watch.room, { connectionId: 'c2', user: alice })).toEqual([alice]);
      expect((await watch.settle()).map((d) => diffFrame(d).joined.length)).toEqual([1, 0, 1]);
    });

    it('list: users per room, rooms apart, empty for a room never used', async () => {
      const { presence, broker } = await open();
      const one = uniqueRoom('one');
      const two = uniqueRoom('two');
      await broker.subscribe(one);
      await presence.join(one, { connectionId: 'c1', user: alice });
      await presence.join(one, { connectionId: 'c2', user: bob });
      await presence.join(two, { connectionId: 'c3', user: bob });
      expect(byId(await presence.list(one))).toEqual(byId([alice, bob]));
      expect(await presence.list(two)).toEqual([bob]);
      expect(await presence.list(uniqueRoom('never'))).toEqual([]);
      await presence.leave(one, 'c2');
      expect(await presence.list(one)).toEqual([alice]);
      expect(await presence.list(two)).toEqual([bob]);
    });

    it('keeps names as given (Unicode, spaces, quotes)', async () => {
      const { presence, broker } = await open();
      const watch = await RoomWatch.open(broker);
      const zoe = { id: 'u_zoe', name: 'Zoë "Z" 😀 d\'Arc' };
      expect(await presence.join(watch.room, { connectionId: 'c1', user: zoe })).toEqual([zoe]);
      await presence.leave(watch.room, 'c1');
      const diffs = await watch.settle();
      expect(diffFrame(diffs[0]!).joined).toEqual([zoe]);
      expect(diffFrame(diffs[1]!).left).toEqual([zoe]);
    });

    it("close removes this node's members", async () => {
      const { presence, broker } = await open();
      const room = uniqueRoom('closing');
      await presence.start();
      await presence.join(room, { connectionId: 'c1', user: alice });
      await presence.join(room, { connectionId: 'c2', user: bob });
      await presence.close();
      expect(await presence.list(room)).toEqual([]);
      void broker;
    });
  });
}
