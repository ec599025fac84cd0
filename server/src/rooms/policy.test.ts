/**
 * RoomPolicy and the Rooms service over the memory backends: pure logic, no
 * network. Errors are checked by their ChatError code, never their text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../auth.js';
import { MemoryBroker } from '../broker/memory.js';
import { ChatError } from '../errors.js';
import { MemoryPresence } from '../presence/memory.js';
import type { AddedFrame, ErrorCode, User } from '../protocol.js';
import { MemoryRoomStore } from './memory.js';
import { RoomPolicy, type Action } from './policy.js';
import { Rooms } from './service.js';
import { dmRoomName } from './store.js';

const alice: User = { id: 'u_alice', name: 'Alice' };
const bob: User = { id: 'u_bob', name: 'Bob' };
const carol: User = { id: 'u_carol', name: 'Carol' };
const mallory: User = { id: 'u_mallory', name: 'Mallory' };
const moderator: User = { id: 'u_mod', name: 'Moderator' };

function identity(user: User, extra: Partial<Pick<Identity, 'admin' | 'rooms'>> = {}): Identity {
  return { user, expiresAt: Date.now() + 3_600_000, admin: false, ...extra };
}

/** The ChatError code a promise rejects with (fails the test if it resolves or throws something else). */
async function codeOf(promise: Promise<unknown>): Promise<ErrorCode> {
  const outcome = await promise.then(
    () => ({ resolved: true as const }),
    (err: unknown) => ({ resolved: false as const, err }),
  );
  if (outcome.resolved) throw new Error('expected a ChatError, but the call succeeded');
  expect(outcome.err).toBeInstanceOf(ChatError);
  return (outcome.err as ChatError).code;
}

const brokers: MemoryBroker[] = [];
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.close()));
});

function backends(maxRoomsPerUser = 10) {
  const broker = new MemoryBroker({ historyMaxLen: 100 });
  brokers.push(broker);
  const store = new MemoryRoomStore(broker, new MemoryPresence(broker), { idleTtlMs: 0 });
  const policy = new RoomPolicy(store);
  const rooms = new Rooms(store, policy, broker, { maxRoomsPerUser, maxInitialMembers: 50 });
  return { broker, store, policy, rooms };
}

const ACTIONS: Action[] = ['read', 'post', 'manage'];

describe('RoomPolicy', () => {
  it('public rooms: anyone may read and post, with or without a record', async () => {
    const { store, policy } = backends();
    await store.create({ room: 'recorded', private: false, owner: alice, members: [] });
    for (const room of ['lobby', 'recorded']) {
      for (const action of ['read', 'post'] as const) {
        const access = await policy.authorize(identity(mallory), room, action);
        expect(access).toMatchObject({ role: null, admin: false });
      }
    }
  });

  it('private rooms: non-members are forbidden to read, post and manage; members may read and post', async () => {
    const { store, policy } = backends();
    await store.create({ room: 'secret', private: true, owner: alice, members: [bob.id] });
    for (const action of ACTIONS) expect(await codeOf(policy.authorize(identity(mallory), 'secret', action))).toBe('forbidden');
    for (const action of ['read', 'post'] as const) {
      expect(await policy.authorize(identity(bob), 'secret', action)).toMatchObject({ role: 'member', admin: false, view: { private: true } });
    }
  });

  it('manage needs the owner or an admin of the room', async () => {
    const { store, policy } = backends();
    await store.create({ room: 'team', private: true, owner: alice, members: [bob.id] });
    await store.setRole('team', carol.id, 'admin');
    await store.create({ room: 'open', private: false, owner: alice, members: [bob.id] });
    expect(await codeOf(policy.authorize(identity(bob), 'team', 'manage'))).toBe('forbidden');
    expect(await codeOf(policy.authorize(identity(bob), 'open', 'manage'))).toBe('forbidden');
    expect(await codeOf(policy.authorize(identity(mallory), 'open', 'manage'))).toBe('forbidden');
    expect(await policy.authorize(identity(alice), 'team', 'manage')).toMatchObject({ role: 'owner' });
    expect(await policy.authorize(identity(carol), 'team', 'manage')).toMatchObject({ role: 'admin' });
  });

  it('manage on a room without a record is not_found', async () => {
    const { policy } = backends();
    expect(await codeOf(policy.authorize(identity(alice), 'nowhere', 'manage'))).toBe('not_found');
  });

  it('a dm- room without a record is forbidden for every action', async () => {
    const { policy } = backends();
    const room = dmRoomName(alice.id, bob.id);
    for (const action of ACTIONS) expect(await codeOf(policy.authorize(identity(alice), room, action))).toBe('forbidden');
    for (const action of ACTIONS) expect(await codeOf(policy.authorize(identity(alice), 'dm-anything', action))).toBe('forbidden');
  });

  it('a DM: its two members may read and post, anybody else is forbidden', async () => {
    const { store, policy } = backends();
    const room = dmRoomName(alice.id, bob.id);
    await store.ensureDm(room, alice, bob.id);
    expect(await policy.authorize(identity(bob), room, 'post')).toMatchObject({ role: 'member', view: { peer: alice.id } });
    expect(await codeOf(policy.authorize(identity(carol), room, 'read'))).toBe('forbidden');
  });

  it('admin tokens may read, post and manage everywhere', async () => {
    const { store, policy } = backends();
    await store.create({ room: 'secret', private: true, owner: alice, members: [] });
    const dm = dmRoomName(alice.id, bob.id);
    await store.ensureDm(dm, alice, bob.id);
    const admin = identity(moderator, { admin: true });
    for (const room of ['secret', dm, 'lobby', 'dm-not-made-yet']) {
      for (const action of ACTIONS) {
        expect(await policy.authorize(admin, room, action)).toMatchObject({ role: null, admin: true });
      }
    }
  });

  it('the rooms claim: exact names and prefix* patterns; forbidden elsewhere, even public rooms, even for admin tokens', async () => {
    const { store, policy } = backends();
    await store.create({ room: 'team-a', private: true, owner: alice, members: [bob.id] });
    const limited = identity(bob, { rooms: ['lobby', 'team-*'] });
    expect(await policy.authorize(limited, 'lobby', 'post')).toMatchObject({ role: null });
    expect(await policy.authorize(limited, 'team-a', 'read')).toMatchObject({ role: 'member' });
    expect(await policy.authorize(limited, 'team-b', 'post')).toMatchObject({ role: null });
    for (const room of ['lobby2', 'lobb', 'other', 'team', 'my-team-a']) {
      expect(await codeOf(policy.authorize(limited, room, 'read')), room).toBe('forbidden');
    }

    const limitedAdmin = identity(moderator, { admin: true, rooms: ['ops-*'] });
    expect(await policy.authorize(limitedAdmin, 'ops-1', 'manage')).toMatchObject({ admin: true });
    for (const action of ACTIONS) expect(await codeOf(policy.authorize(limitedAdmin, 'team-a', action))).toBe('forbidden');
    expect(await codeOf(policy.authorize(limitedAdmin, 'lobby', 'read'))).toBe('forbidden');

    // An empty claim covers nothing.
    expect(await codeOf(policy.authorize(identity(bob, { rooms: [] }), 'lobby', 'read'))).toBe('forbidden');
  });
});

/** Frames addressed to users (Broker.publishToUser), as a node would receive them. */
class UserInbox {
  readonly frames: Array<{ userId: string; frame: AddedFrame }> = [];
  private wake: () => void = () => {};

  constructor(broker: MemoryBroker) {
    broker.onUserDelivery((userId, frame) => {
      this.frames.push({ userId, frame: JSON.parse(frame) as AddedFrame });
      this.wake();
    });
  }

  of(userId: string): AddedFrame[] {
    return this.frames.filter((f) => f.userId === userId).map((f) => f.frame);
  }

  async waitFor(userId: string, count: number): Promise<AddedFrame[]> {
    const deadline = Date.now() + 5000;
    while (this.of(userId).length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${count} frames to ${userId}; got ${this.of(userId).length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.of(userId);
  }
}

describe('Rooms (service over memory)', () => {
  it('create: the caller owns the room; creating it again is a conflict and changes nothing', async () => {
    const { rooms, store } = backends();
    expect(await rooms.create(identity(alice), 'team', true, [bob.id])).toEqual({ name: 'team', private: true, role: 'owner' });
    expect(await codeOf(rooms.create(identity(alice), 'team', false, [carol.id]))).toBe('conflict');
    expect(await codeOf(rooms.create(identity(bob), 'team', false, []))).toBe('conflict');
    expect(await store.view('team', bob.id)).toEqual({ exists: true, private: true, owner: alice.id, role: 'member' });
    expect(await store.view('team', carol.id)).toMatchObject({ role: null });

    await rooms.create(identity(alice), 'open', false, []);
    expect(await codeOf(rooms.create(identity(carol), 'open', true, []))).toBe('conflict');
    expect(await store.view('open', carol.id)).toEqual({ exists: true, private: false, owner: alice.id, role: null });
  });

  it('create of a name that already has messages is a conflict', async () => {
    const { rooms, broker } = backends();
    await broker.publish({ room: 'busy', user: bob, text: 'v1 room' });
    expect(await codeOf(rooms.create(identity(alice), 'busy', true, []))).toBe('conflict');
  });

  it('create of a name taken by a private room the caller is not in is a conflict (409), like any other taken name', async () => {
    const { rooms } = backends();
    await rooms.create(identity(alice), 'taken', true, []);
    // PROTOCOL-v2 A: "409 conflict if R already exists". POST /api/rooms is not a /api/rooms/:room/... call.
    expect(await codeOf(rooms.create(identity(mallory), 'taken', true, []))).toBe('conflict');
  });

  it('create: names starting with dm- are a bad_request, and nothing is recorded', async () => {
    const { rooms, store } = backends();
    expect(await codeOf(rooms.create(identity(alice), 'dm-mine', true, []))).toBe('bad_request');
    expect(await store.view('dm-mine', alice.id)).toMatchObject({ exists: false });
  });

  it('create past MAX rooms per user is forbidden and creates nothing; a conflict does not use up a room', async () => {
    const { rooms, store } = backends(2);
    await rooms.create(identity(alice), 'one', false, []);
    expect(await codeOf(rooms.create(identity(alice), 'one', false, []))).toBe('conflict');
    await rooms.create(identity(alice), 'two', true, []);
    expect(await codeOf(rooms.create(identity(alice), 'three', true, [bob.id]))).toBe('forbidden');
    expect(await store.view('three', alice.id)).toEqual({ exists: false, private: false, role: null });
    expect((await store.roomsOf(bob.id)).map((r) => r.name)).not.toContain('three');
    // DMs count too; another user has a count of their own.
    expect(await codeOf(rooms.dm(identity(alice), bob.id))).toBe('forbidden');
    expect((await rooms.create(identity(bob), 'three', true, [])).role).toBe('owner');
  });

  it('dm with yourself is a bad_request', async () => {
    const { rooms } = backends();
    expect(await codeOf(rooms.dm(identity(alice), alice.id))).toBe('bad_request');
  });

  it('dm: the same room from both sides, created once, each side with the other as peer', async () => {
    const { rooms } = backends(1);
    const first = await rooms.dm(identity(alice), bob.id);
    expect(first.created).toBe(true);
    expect(first.room).toEqual({ name: dmRoomName(alice.id, bob.id), private: true, role: 'member', peer: bob.id });
    const back = await rooms.dm(identity(bob), alice.id);
    expect(back).toEqual({ room: { name: first.room.name, private: true, role: 'member', peer: alice.id }, created: false });
    // Repeating costs nothing against MAX_ROOMS_PER_USER (1 here).
    expect((await rooms.dm(identity(alice), bob.id)).created).toBe(false);
    expect(await rooms.list(identity(bob))).toEqual([{ name: first.room.name, private: true, role: 'member', peer: alice.id }]);
  });

  it('setRole on the owner is forbidden, and the owner stays owner', async () => {
    const { rooms, store } = backends();
    await rooms.create(identity(alice), 'team', true, []);
    await rooms.setRole(identity(alice), 'team', carol.id, 'admin');
    expect(await codeOf(rooms.setRole(identity(carol), 'team', alice.id, 'member'))).toBe('forbidden');
    expect(await codeOf(rooms.setRole(identity(alice), 'team', alice.id, 'admin'))).toBe('forbidden');
    expect(await store.view('team', alice.id)).toMatchObject({ role: 'owner', owner: alice.id });
  });

  it('setRole by a member is forbidden; roles other than member and admin are a bad_request', async () => {
    const { rooms } = backends();
    await rooms.create(identity(alice), 'team', true, [bob.id]);
    expect(await codeOf(rooms.setRole(identity(bob), 'team', carol.id, 'member'))).toBe('forbidden');
    expect(await codeOf(rooms.setRole(identity(alice), 'team', carol.id, 'owner'))).toBe('bad_request');
  });

  it('setRole by an admin token on a room without a record is not_found (not an internal error)', async () => {
    const { rooms, store } = backends();
    expect(await codeOf(rooms.setRole(identity(moderator, { admin: true }), 'nowhere', bob.id, 'member'))).toBe('not_found');
    expect(await store.view('nowhere', bob.id)).toMatchObject({ exists: false });
  });

  it('removing the owner is forbidden to room admins and admin tokens alike', async () => {
    const { rooms, store } = backends();
    await rooms.create(identity(alice), 'team', true, []);
    await rooms.setRole(identity(alice), 'team', carol.id, 'admin');
    expect(await codeOf(rooms.remove(identity(carol), 'team', alice.id))).toBe('forbidden');
    expect(await codeOf(rooms.remove(identity(moderator, { admin: true }), 'team', alice.id))).toBe('forbidden');
    expect(await store.view('team', alice.id)).toMatchObject({ role: 'owner' });
  });

  it('any member may remove themself, the owner included', async () => {
    const { rooms, store } = backends();
    await rooms.create(identity(alice), 'team', true, [bob.id]);
    await rooms.remove(identity(bob), 'team', bob.id);
    expect(await store.view('team', bob.id)).toMatchObject({ role: null });
    await rooms.remove(identity(alice), 'team', alice.id);
    const view = await store.view('team', alice.id);
    expect(view).toMatchObject({ exists: true, role: null });
    expect(view.owner).toBeUndefined();
  });

  it('an admin of the room removes a member; a member may not remove another', async () => {
    const { rooms, store } = backends();
    await rooms.create(identity(alice), 'team', true, [bob.id, carol.id]);
    expect(await codeOf(rooms.remove(identity(bob), 'team', carol.id))).toBe('forbidden');
    await rooms.setRole(identity(alice), 'team', bob.id, 'admin');
    await rooms.remove(identity(bob), 'team', carol.id);
    expect(await store.view('team', carol.id)).toMatchObject({ role: null });
  });

  it('removing a non-member is not_found', async () => {
    const { rooms } = backends();
    await rooms.create(identity(alice), 'team', true, [bob.id]);
    expect(await codeOf(rooms.remove(identity(alice), 'team', carol.id))).toBe('not_found');
  });

  it('an added frame reaches the added user (publishToUser), on create and on setRole; a role change is not announced', async () => {
    const { rooms, broker } = backends();
    const inbox = new UserInbox(broker);
    await broker.subscribeUser(bob.id);
    await broker.subscribeUser(carol.id);

    await rooms.create(identity(alice), 'team', true, [bob.id, alice.id]);
    const [onCreate] = await inbox.waitFor(bob.id, 1);
    expect(onCreate).toEqual({ type: 'added', room: { name: 'team', private: true, role: 'member' }, by: alice });

    await rooms.setRole(identity(alice), 'team', bob.id, 'admin'); // an update: no frame
    await rooms.setRole(identity(bob), 'team', carol.id, 'member'); // an addition, by bob
    const [onSetRole] = await inbox.waitFor(carol.id, 1);
    expect(onSetRole).toEqual({ type: 'added', room: { name: 'team', private: true, role: 'member' }, by: bob });
    // Delivered in publish order: carol's frame came after any frame for bob's promotion.
    expect(inbox.of(bob.id)).toHaveLength(1);
    expect(inbox.of(alice.id)).toEqual([]);
  });

  it('a DM announces itself to the peer the first time only', async () => {
    const { rooms, broker } = backends();
    const inbox = new UserInbox(broker);
    await broker.subscribeUser(bob.id);
    await broker.subscribeUser(carol.id);
    const { room } = await rooms.dm(identity(alice), bob.id);
    const [added] = await inbox.waitFor(bob.id, 1);
    expect(added).toEqual({ type: 'added', room: { name: room.name, private: true, role: 'member', peer: alice.id }, by: alice });

    await rooms.dm(identity(alice), bob.id);
    await rooms.dm(identity(alice), carol.id); // barrier
    await inbox.waitFor(carol.id, 1);
    expect(inbox.of(bob.id)).toHaveLength(1);
  });
});
