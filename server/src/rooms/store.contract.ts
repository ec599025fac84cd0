/**
 * The RoomStore contract (see store.ts), as one suite that every
 * implementation runs: memory.test.ts and redis.test.ts call
 * `roomStoreContract` with a factory.
 *
 * Removals are observed as a node would see them: on the broker the store
 * publishes them on. Absence is checked with a barrier (a later message on
 * the same room), never a sleep.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Broker, Delivery } from '../broker/broker.js';
import { Inbox, uniqueRoom } from '../broker/broker.contract.js';
import type { PresenceManager } from '../presence/presence.js';
import type { RoomInfo, User } from '../protocol.js';
import { dmRoomName, removedFrame, type MemberRecord, type RoomStore } from './store.js';

export interface RoomStoreFixture {
  store: RoomStore;
  /** The broker the store's removals are published on (ready; not yet subscribed to anything). */
  broker: Broker;
  /** Presence on the same backend: a room with present users cannot be created. */
  presence: PresenceManager;
  /** Closes presence, broker and store connections. */
  close(): Promise<void>;
}

/** Returns a fresh store: its own memory, or its own key prefix on a shared Redis. */
export type RoomStoreFactory = () => Promise<RoomStoreFixture>;

const alice: User = { id: 'u_alice', name: 'Alice' };
const bob: User = { id: 'u_bob', name: 'Bob' };
const carol: User = { id: 'u_carol', name: 'Carol' };
const dave: User = { id: 'u_dave', name: 'Dave' };

const byId = (members: MemberRecord[]) => [...members].sort((a, b) => a.id.localeCompare(b.id));
const byName = (rooms: RoomInfo[]) => [...rooms].sort((a, b) => a.name.localeCompare(b.name));

export function roomStoreContract(name: string, factory: RoomStoreFactory): void {
  describe(`RoomStore contract: ${name}`, () => {
    const opened: RoomStoreFixture[] = [];
    const open = async (): Promise<RoomStoreFixture> => {
      const fixture = await factory();
      opened.push(fixture);
      return fixture;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((fixture) => fixture.close()));
    });

    it('a room without a record is public, exists false, and nobody has a role in it', async () => {
      const { store } = await open();
      const room = uniqueRoom('none');
      expect(await store.view(room, alice.id)).toEqual({ exists: false, private: false, role: null });
      expect(await store.members(room)).toEqual([]);
      expect(await store.roomsOf(alice.id)).toEqual([]);
    });

    it('create makes the caller owner and the listed ids members; the owner listed among them stays owner', async () => {
      const { store } = await open();
      const room = uniqueRoom('create');
      expect(await store.create({ room, private: true, owner: alice, members: [alice.id, bob.id, carol.id] })).toBe('created');
      expect(await store.view(room, alice.id)).toEqual({ exists: true, private: true, owner: alice.id, role: 'owner' });
      expect(await store.view(room, bob.id)).toEqual({ exists: true, private: true, owner: alice.id, role: 'member' });
      expect(await store.view(room, dave.id)).toEqual({ exists: true, private: true, owner: alice.id, role: null });
      expect(byId(await store.members(room))).toEqual([
        { id: alice.id, role: 'owner', name: alice.name },
        { id: bob.id, role: 'member' },
        { id: carol.id, role: 'member' },
      ]);
    });

    it('create of a public room records it as public, with its owner', async () => {
      const { store } = await open();
      const room = uniqueRoom('public');
      expect(await store.create({ room, private: false, owner: alice, members: [] })).toBe('created');
      expect(await store.view(room, bob.id)).toEqual({ exists: true, private: false, owner: alice.id, role: null });
      expect(await store.view(room, alice.id)).toMatchObject({ role: 'owner' });
    });

    it('create again answers exists and changes nothing', async () => {
      const { store } = await open();
      const room = uniqueRoom('twice');
      await store.create({ room, private: true, owner: alice, members: [bob.id] });
      const before = byId(await store.members(room));
      expect(await store.create({ room, private: false, owner: carol, members: [dave.id] })).toBe('exists');
      expect(await store.view(room, carol.id)).toEqual({ exists: true, private: true, owner: alice.id, role: null });
      expect(await store.view(room, dave.id)).toMatchObject({ role: null });
      expect(byId(await store.members(room))).toEqual(before);
      expect((await store.roomsOf(carol.id)).map((r) => r.name)).not.toContain(room);
      expect((await store.roomsOf(dave.id)).map((r) => r.name)).not.toContain(room);
    });

    it('create answers exists when the room has stored messages, and records nothing', async () => {
      const { store, broker } = await open();
      const room = uniqueRoom('used');
      await broker.publish({ room, user: bob, text: 'first!' });
      expect(await store.create({ room, private: true, owner: alice, members: [] })).toBe('exists');
      expect(await store.view(room, alice.id)).toEqual({ exists: false, private: false, role: null });
      expect(await store.roomsOf(alice.id)).toEqual([]);
    });

    it('create answers exists when users are present in the room, and records nothing', async () => {
      const { store, presence } = await open();
      const room = uniqueRoom('occupied');
      await presence.join(room, { connectionId: 'c-bob', user: bob });
      expect(await store.create({ room, private: true, owner: alice, members: [] })).toBe('exists');
      expect(await store.view(room, alice.id)).toEqual({ exists: false, private: false, role: null });
      // Once everybody left (and nothing was posted) the name is free.
      await presence.leave(room, 'c-bob');
      expect(await store.create({ room, private: true, owner: alice, members: [] })).toBe('created');
    });

    it('ensureDm creates the DM once; both sides see each other as peer', async () => {
      const { store } = await open();
      const room = dmRoomName(alice.id, bob.id);
      expect(dmRoomName(bob.id, alice.id)).toBe(room);
      expect(await store.ensureDm(room, alice, bob.id)).toBe(true);
      expect(await store.ensureDm(room, alice, bob.id)).toBe(false);
      expect(await store.ensureDm(room, bob, alice.id)).toBe(false);
      expect(await store.view(room, alice.id)).toEqual({ exists: true, private: true, role: 'member', peer: bob.id });
      expect(await store.view(room, bob.id)).toEqual({ exists: true, private: true, role: 'member', peer: alice.id });
      expect(await store.view(room, carol.id)).toMatchObject({ exists: true, private: true, role: null });
      expect(byId(await store.members(room)).map((m) => [m.id, m.role])).toEqual([
        [alice.id, 'member'],
        [bob.id, 'member'],
      ]);
      expect(await store.roomsOf(alice.id)).toEqual([{ name: room, private: true, role: 'member', peer: bob.id }]);
      expect(await store.roomsOf(bob.id)).toEqual([{ name: room, private: true, role: 'member', peer: alice.id }]);
    });

    it('ensureDm re-adds the caller after they removed themself, and only the caller', async () => {
      const { store } = await open();
      const room = dmRoomName(alice.id, bob.id);
      await store.ensureDm(room, alice, bob.id);
      expect(await store.remove(room, alice.id)).toBe(true);
      expect(await store.remove(room, bob.id)).toBe(true);
      expect(await store.view(room, alice.id)).toMatchObject({ exists: true, role: null });
      expect(await store.roomsOf(alice.id)).toEqual([]);

      expect(await store.ensureDm(room, alice, bob.id)).toBe(false);
      expect(await store.view(room, alice.id)).toEqual({ exists: true, private: true, role: 'member', peer: bob.id });
      expect(await store.roomsOf(alice.id)).toEqual([{ name: room, private: true, role: 'member', peer: bob.id }]);
      // bob left on his own; alice coming back does not pull him in again.
      expect(await store.view(room, bob.id)).toMatchObject({ role: null });
    });

    it('setRole adds (null), updates (the previous role), and never changes the owner', async () => {
      const { store } = await open();
      const room = uniqueRoom('roles');
      await store.create({ room, private: true, owner: alice, members: [bob.id] });
      expect(await store.setRole(room, carol.id, 'member')).toBeNull();
      expect(await store.view(room, carol.id)).toMatchObject({ role: 'member' });
      expect(await store.setRole(room, carol.id, 'admin')).toBe('member');
      expect(await store.view(room, carol.id)).toMatchObject({ role: 'admin' });
      expect(await store.setRole(room, bob.id, 'admin')).toBe('member');
      expect(await store.setRole(room, bob.id, 'member')).toBe('admin');

      expect(await store.setRole(room, alice.id, 'member')).toBe('owner');
      expect(await store.setRole(room, alice.id, 'admin')).toBe('owner');
      expect(await store.view(room, alice.id)).toEqual({ exists: true, private: true, owner: alice.id, role: 'owner' });
      expect(byId(await store.members(room)).map((m) => [m.id, m.role])).toEqual([
        [alice.id, 'owner'],
        [bob.id, 'member'],
        [carol.id, 'admin'],
      ]);
    });

    it('setRole on a room without a record rejects and records nothing', async () => {
      const { store } = await open();
      const room = uniqueRoom('norecord');
      await expect(store.setRole(room, bob.id, 'member')).rejects.toThrow();
      expect(await store.view(room, bob.id)).toEqual({ exists: false, private: false, role: null });
      expect(await store.members(room)).toEqual([]);
      expect(await store.roomsOf(bob.id)).toEqual([]);
    });

    it('remove: true, then false; one removal delivery, ordered between the messages before and after it', async () => {
      const { store, broker } = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom('remove');
      await store.create({ room, private: true, owner: alice, members: [bob.id] });
      await broker.subscribe(room);

      const before = await broker.publish({ room, user: alice, text: 'before' });
      expect(await store.remove(room, bob.id)).toBe(true);
      const after = await broker.publish({ room, user: alice, text: 'after' });
      expect(await store.remove(room, bob.id)).toBe(false);
      const barrier = await broker.publish({ room, user: alice, text: 'barrier' });
      await inbox.waitFor((d) => d.id === barrier.id, 5000, 'the barrier message');

      const isRemoval = (d: Delivery) => d.removed !== undefined;
      const removals = inbox.inRoom(room).filter(isRemoval);
      expect(removals).toEqual([{ room, removed: bob.id, frame: '{"type":"removed","room":"' + room + '"}' }]);
      expect(removals[0]!.frame).toBe(removedFrame(room));
      expect(JSON.parse(removals[0]!.frame)).toEqual({ type: 'removed', room });
      // In order with the room's messages.
      expect(inbox.inRoom(room).map((d) => (isRemoval(d) ? `removed:${d.removed}` : d.id))).toEqual([
        before.id,
        `removed:${bob.id}`,
        after.id,
        barrier.id,
      ]);

      expect(await store.view(room, bob.id)).toMatchObject({ exists: true, role: null });
      expect((await store.members(room)).map((m) => m.id)).toEqual([alice.id]);
    });

    it('remove of someone who never was a member answers false and publishes nothing', async () => {
      const { store, broker } = await open();
      const inbox = new Inbox(broker);
      const room = uniqueRoom('stranger');
      const bare = uniqueRoom('bare');
      await store.create({ room, private: true, owner: alice, members: [] });
      await broker.subscribe(room);
      await broker.subscribe(bare);
      expect(await store.remove(room, carol.id)).toBe(false);
      expect(await store.remove(bare, carol.id)).toBe(false); // no record at all
      const barrier = await broker.publish({ room, user: alice, text: 'barrier' });
      const bareBarrier = await broker.publish({ room: bare, user: alice, text: 'barrier' });
      await inbox.waitFor((d) => d.id === barrier.id);
      await inbox.waitFor((d) => d.id === bareBarrier.id);
      expect(inbox.deliveries.filter((d) => d.removed !== undefined)).toEqual([]);
    });

    it('removing the owner clears owner in the view; the others keep their roles', async () => {
      const { store } = await open();
      const room = uniqueRoom('ownerless');
      await store.create({ room, private: true, owner: alice, members: [bob.id] });
      await store.setRole(room, carol.id, 'admin');
      expect(await store.remove(room, alice.id)).toBe(true);
      expect(await store.view(room, bob.id)).toEqual({ exists: true, private: true, role: 'member' });
      expect(await store.view(room, alice.id)).toEqual({ exists: true, private: true, role: null });
      expect(await store.view(room, carol.id)).toMatchObject({ role: 'admin' });
      expect((await store.view(room, carol.id)).owner).toBeUndefined();
    });

    it('members lists roles with the names the store has seen (rememberName)', async () => {
      const { store } = await open();
      const room = uniqueRoom('names');
      await store.create({ room, private: false, owner: alice, members: [bob.id, carol.id] });
      await store.rememberName(room, bob);
      await store.rememberName(room, { id: alice.id, name: 'Alice Renamed' });
      expect(byId(await store.members(room))).toEqual([
        { id: alice.id, role: 'owner', name: 'Alice Renamed' },
        { id: bob.id, role: 'member', name: bob.name },
        { id: carol.id, role: 'member' },
      ]);
      // A removed member's name goes with the membership.
      await store.remove(room, bob.id);
      expect(byId(await store.members(room))).toEqual([
        { id: alice.id, role: 'owner', name: 'Alice Renamed' },
        { id: carol.id, role: 'member' },
      ]);
    });

    it('rememberName on a room without a record lists no member', async () => {
      const { store } = await open();
      const room = uniqueRoom('ghost');
      await store.rememberName(room, bob);
      expect(await store.members(room)).toEqual([]);
      expect(await store.view(room, bob.id)).toEqual({ exists: false, private: false, role: null });
    });

    it('roomsOf lists private rooms and DMs with role and peer, and drops rooms the user was removed from', async () => {
      const { store } = await open();
      const team = uniqueRoom('team');
      const club = uniqueRoom('club');
      const dm = dmRoomName(alice.id, bob.id);
      await store.create({ room: team, private: true, owner: alice, members: [bob.id] });
      await store.create({ room: club, private: true, owner: carol, members: [] });
      await store.setRole(club, bob.id, 'admin');
      await store.ensureDm(dm, alice, bob.id);

      expect(byName(await store.roomsOf(bob.id))).toEqual(
        byName([
          { name: team, private: true, role: 'member' },
          { name: club, private: true, role: 'admin' },
          { name: dm, private: true, role: 'member', peer: alice.id },
        ]),
      );
      expect(byName(await store.roomsOf(alice.id))).toEqual(
        byName([
          { name: team, private: true, role: 'owner' },
          { name: dm, private: true, role: 'member', peer: bob.id },
        ]),
      );

      await store.setRole(team, bob.id, 'admin');
      expect((await store.roomsOf(bob.id)).find((r) => r.name === team)).toEqual({ name: team, private: true, role: 'admin' });

      await store.remove(team, bob.id);
      await store.remove(dm, bob.id);
      expect(await store.roomsOf(bob.id)).toEqual([{ name: club, private: true, role: 'admin' }]);
      expect((await store.roomsOf(alice.id)).map((r) => r.name).sort()).toEqual([dm, team].sort());
    });

    it('countCreation counts up to max, then refuses without counting; uncountCreation gives one back', async () => {
      const { store } = await open();
      expect(await store.countCreation(alice.id, 2)).toBe(true);
      expect(await store.countCreation(alice.id, 2)).toBe(true);
      expect(await store.countCreation(alice.id, 2)).toBe(false);
      expect(await store.countCreation(alice.id, 2)).toBe(false); // a refusal did not count either
      await store.uncountCreation(alice.id);
      expect(await store.countCreation(alice.id, 2)).toBe(true);
      expect(await store.countCreation(alice.id, 2)).toBe(false);
      // Per user.
      expect(await store.countCreation(bob.id, 2)).toBe(true);
      expect(await store.countCreation(bob.id, 1)).toBe(false);
    });
  });
}
