/**
 * MemoryRoomStore: the shared contract, then idle expiry on an injected clock
 * (the store and the broker read the same one, as Redis expires both a room's
 * record and its stream).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryBroker } from '../broker/memory.js';
import { MemoryPresence } from '../presence/memory.js';
import type { User } from '../protocol.js';
import { MemoryRoomStore } from './memory.js';
import { roomStoreContract } from './store.contract.js';

roomStoreContract('MemoryRoomStore', async () => {
  const broker = new MemoryBroker({ historyMaxLen: 1000 });
  const presence = new MemoryPresence(broker);
  const store = new MemoryRoomStore(broker, presence, { idleTtlMs: 0 });
  return {
    store,
    broker,
    presence,
    async close() {
      await presence.close();
      await broker.close();
    },
  };
});

const alice: User = { id: 'u_alice', name: 'Alice' };

describe('MemoryRoomStore idle expiry (injected clock)', () => {
  const TTL = 60_000;
  let clock = 1_000_000;
  const now = () => clock;
  const brokers: MemoryBroker[] = [];
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  function open() {
    clock = 1_000_000;
    const broker = new MemoryBroker({ historyMaxLen: 1000, idleTtlMs: TTL, now });
    brokers.push(broker);
    const presence = new MemoryPresence(broker);
    return { broker, store: new MemoryRoomStore(broker, presence, { idleTtlMs: TTL, now }) };
  }

  it('a room idle past the TTL loses record and history; rooms written recently keep theirs', async () => {
    const { broker, store } = open();
    const idle = 'idle';
    const chatty = 'chatty';
    const managed = 'managed';
    for (const room of [idle, chatty, managed]) {
      expect(await store.create({ room, private: true, owner: alice, members: [] })).toBe('created');
    }
    await broker.publish({ room: idle, user: alice, text: 'old' });
    await broker.publish({ room: chatty, user: alice, text: 'old' });

    clock += TTL / 2;
    const recent = await broker.publish({ room: chatty, user: alice, text: 'recent' });
    expect(await store.setRole(managed, 'u_bob', 'member')).toBeNull();

    clock += TTL / 2 + 1; // idle: TTL + 1 since its last write; the others TTL/2 + 1
    expect(await store.view(idle, alice.id)).toEqual({ exists: false, private: false, role: null });
    expect((await broker.history(idle, { since: '0-0' })).messages).toEqual([]);
    expect((await store.roomsOf(alice.id)).map((r) => r.name).sort()).toEqual([chatty, managed]);

    expect(await store.view(chatty, alice.id)).toEqual({ exists: true, private: true, owner: alice.id, role: 'owner' });
    const kept = (await broker.history(chatty, { since: '0-0' })).messages;
    expect(kept.map((m) => m.id)).toContain(recent.id);
    expect(await store.view(managed, 'u_bob')).toMatchObject({ exists: true, role: 'member' });

    // The expired name is free to create again.
    expect(await store.create({ room: idle, private: false, owner: { id: 'u_carol', name: 'Carol' }, members: [] })).toBe('created');
  });

  it('a room still within the TTL keeps its record and history', async () => {
    const { broker, store } = open();
    await store.create({ room: 'fresh', private: true, owner: alice, members: [] });
    const message = await broker.publish({ room: 'fresh', user: alice, text: 'hi' });
    clock += TTL - 1;
    expect(await store.view('fresh', alice.id)).toMatchObject({ exists: true, role: 'owner' });
    expect((await broker.history('fresh', { since: '0-0' })).messages).toEqual([message]);
  });

  it('the creation count expires with the TTL', async () => {
    const { store } = open();
    expect(await store.countCreation(alice.id, 1)).toBe(true);
    expect(await store.countCreation(alice.id, 1)).toBe(false);
    clock += TTL;
    expect(await store.countCreation(alice.id, 1)).toBe(true);
  });
});
