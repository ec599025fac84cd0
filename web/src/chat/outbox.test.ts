import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClientFrame, SendFrame } from '@roomcast/server/protocol';
import { OfflineStore } from './offline-store.js';
import { DEFAULT_OUTBOX, Outbox, type OutboxOptions } from './outbox.js';
import { emptyRoom, type ChatState } from './state.js';
import { ChatStore, RefMaker } from './store.js';
import { ALICE, MemoryStore } from './test-support/fakes.js';

const NOW = 1_700_000_000_000;

/**
 * The outbox alone, on a wire the test controls: `ready` says whether a room
 * is joined and synced, `written` holds every frame, `generation` is the socket.
 */
function setup(options: Partial<OutboxOptions> = {}, rooms = ['lobby']) {
  const state: ChatState = {
    session: { user: ALICE },
    authError: null,
    connection: { status: 'connected', node: 'n1', connectionId: 'c1' },
    rooms: Object.fromEntries(rooms.map((name) => [name, { ...emptyRoom(name), joined: true }])),
    roomOrder: rooms,
    activeRoom: rooms[0]!,
  };
  const store = new ChatStore(state);
  const local = new MemoryStore();
  const offline = new OfflineStore(local);
  const wire = { ready: true, generation: 1, written: [] as ClientFrame[] };
  const outbox = new Outbox(
    store,
    {
      write: (frame) => {
        if (!wire.ready) return false;
        wire.written.push(frame);
        return true;
      },
      generation: () => wire.generation,
      isReady: () => wire.ready,
      user: () => ALICE.id,
    },
    offline,
    new RefMaker(),
    { ...DEFAULT_OUTBOX, now: Date.now, random: () => 0.5, ...options },
  );
  const sends = () => wire.written.filter((f): f is SendFrame => f.type === 'send');
  /** The server stores the send with `ref` (the room state drops it, as RoomSync does). */
  const store_ = (ref: string) => {
    const room = Object.values(store.state.rooms).find((r) => r.pending.some((p) => p.ref === ref))!;
    store.patchRoom(room.name, { pending: room.pending.filter((p) => p.ref !== ref) });
    outbox.stored(room.name, ref);
  };
  /** Plays a server that stores every send at once, in the order it gets them. */
  const ackAll = () => {
    for (let i = 0; i < 1000; i++) {
      const open = sends().find((f) => Object.values(store.state.rooms).some((r) => r.pending.some((p) => p.ref === f.ref)));
      if (!open) return;
      store_(open.ref!);
    }
  };
  return { store, outbox, wire, sends, stored: store_, ackAll, local, offline };
}

beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('order', () => {
  it('sends one message of a room at a time: the next leaves when the previous is stored', () => {
    const { outbox, sends, stored } = setup();
    for (const text of ['one', 'two', 'three']) outbox.send('lobby', text);
    expect(sends().map((f) => f.text)).toEqual(['one']);
    stored(sends()[0]!.ref!);
    expect(sends().map((f) => f.text)).toEqual(['one', 'two']);
    stored(sends()[1]!.ref!);
    stored(sends()[2]!.ref!);
    expect(sends().map((f) => f.text)).toEqual(['one', 'two', 'three']);
  });

  it('keeps rooms apart: a slow room does not hold up another', () => {
    const { outbox, sends } = setup({}, ['lobby', 'dev']);
    outbox.send('lobby', 'a1');
    outbox.send('lobby', 'a2');
    outbox.send('dev', 'b1');
    expect(sends().map((f) => `${f.room}:${f.text}`)).toEqual(['lobby:a1', 'dev:b1']);
  });

  it('a refusal that may pass (rate_limited) holds the room and resends the same ref, before anything after it', () => {
    const { outbox, sends, stored, store } = setup();
    for (const text of ['first', 'second']) outbox.send('lobby', text);
    const first = sends()[0]!.ref!;
    outbox.refused(first, { code: 'rate_limited', message: 'slow down' });
    // Still pending (not failed: no manual step), and nothing else went in its place.
    expect(store.room('lobby')!.pending.map((p) => p.status)).toEqual(['pending', 'pending']);
    expect(sends()).toHaveLength(1);

    vi.advanceTimersByTime(999); // the first pause is 1 s (random() = 0.5: no jitter)
    expect(sends()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sends().map((f) => [f.text, f.ref])).toEqual([
      ['first', first],
      ['first', first],
    ]);
    stored(first);
    expect(sends().map((f) => f.text)).toEqual(['first', 'first', 'second']);
  });

  it('pauses longer after each refusal in a row, and not at all after a success', () => {
    const { outbox, sends } = setup();
    outbox.send('lobby', 'unlucky');
    const ref = sends()[0]!.ref!;
    const pauses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const before = sends().length;
      const start = Date.now();
      outbox.refused(ref, { code: 'internal', message: 'broker down' });
      while (sends().length === before) vi.advanceTimersByTime(100);
      pauses.push(Date.now() - start);
    }
    expect(pauses).toEqual([1000, 2000, 4000, 8000]);
  });

  it('a refusal for good marks that message failed and lets the next ones go', () => {
    const { outbox, sends, store } = setup();
    outbox.send('lobby', 'x'.repeat(3000));
    outbox.send('lobby', 'short');
    outbox.refused(sends()[0]!.ref!, { code: 'too_large', message: 'too long for this server' });
    expect(store.room('lobby')!.pending.map((p) => p.status)).toEqual(['failed', 'pending']);
    expect(sends().map((f) => f.text)).toEqual(['x'.repeat(3000), 'short']);
  });

  it('resends what was in flight on a new socket, with the same ref, once the room is ready again', () => {
    const { outbox, sends, wire } = setup();
    outbox.send('lobby', 'lost with the socket');
    const ref = sends()[0]!.ref!;
    wire.ready = false;
    wire.generation = 2;
    outbox.flush('lobby');
    expect(sends()).toHaveLength(1);
    wire.ready = true;
    outbox.socketOpened();
    outbox.flush('lobby');
    expect(sends().map((f) => f.ref)).toEqual([ref, ref]);
    outbox.flush('lobby');
    expect(sends()).toHaveLength(2);
  });
});

describe('pacing', () => {
  it('keeps under the budget: a burst, then the refill rate; all in order, none refused', () => {
    const { outbox, sends, ackAll } = setup({ pacing: { perSecond: 8, burst: 20 } });
    const texts = Array.from({ length: 40 }, (_, i) => `message ${i + 1}`);
    for (const text of texts) outbox.send('lobby', text);
    ackAll();
    expect(sends()).toHaveLength(20);

    const times: number[] = [];
    while (sends().length < 40) {
      const before = sends().length;
      vi.advanceTimersByTime(25);
      ackAll();
      for (let i = before; i < sends().length; i++) times.push(Date.now() - NOW);
    }
    expect(sends().map((f) => f.text)).toEqual(texts);
    // 20 more at 8 per second: one every 125 ms, the last after 2.5 s.
    expect(times.at(-1)).toBeGreaterThanOrEqual(2500);
    expect(times.at(-1)).toBeLessThan(2600);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(100);
  });

  it('a server that still says rate_limited empties the bucket: the message waits, then goes, same ref', () => {
    const { outbox, sends, stored } = setup({ pacing: { perSecond: 10, burst: 30 } });
    outbox.send('lobby', 'one');
    outbox.refused(sends()[0]!.ref!, { code: 'rate_limited', message: 'slow down' });
    vi.advanceTimersByTime(1000);
    expect(sends()).toHaveLength(2);
    stored(sends()[1]!.ref!);
    // The bucket is refilling from empty: the next send waits for a token.
    outbox.send('lobby', 'two');
    expect(sends()).toHaveLength(3);
  });

  it('typing signals: at most one per room per throttle period, never through the message budget', () => {
    const { outbox, wire, sends, ackAll } = setup({ pacing: { perSecond: 1, burst: 2 }, typingThrottleMs: 3000 });
    for (let i = 0; i < 10; i++) outbox.notifyTyping('lobby');
    outbox.send('lobby', 'a');
    ackAll();
    outbox.send('lobby', 'b');
    ackAll();
    expect(wire.written.filter((f) => f.type === 'typing')).toHaveLength(1);
    expect(sends().map((f) => f.text)).toEqual(['a', 'b']);
  });
});

describe('kept on the device', () => {
  it('keeps every unsent message with its ref until the server stores it', () => {
    const { outbox, sends, stored, offline, wire } = setup();
    wire.ready = false;
    outbox.send('lobby', 'one');
    outbox.send('lobby', 'two');
    expect(offline.loadOutbox(ALICE.id).map((s) => s.text)).toEqual(['one', 'two']);
    wire.ready = true;
    outbox.flush('lobby');
    stored(sends()[0]!.ref!);
    expect(offline.loadOutbox(ALICE.id).map((s) => s.text)).toEqual(['two']);
  });

  it('adopts kept sends in the order they were written, and sends them with their own refs', () => {
    const first = setup();
    first.wire.ready = false;
    for (const text of ['one', 'two', 'three']) {
      first.outbox.send('lobby', text);
      vi.advanceTimersByTime(10);
    }
    const kept = first.offline.loadOutbox(ALICE.id);

    const second = setup();
    second.outbox.adopt([kept[2]!, kept[0]!, kept[1]!]);
    second.ackAll();
    expect(second.sends().map((f) => [f.text, f.ref])).toEqual(kept.map((s) => [s.text, s.ref]));
  });

  it('does not touch another tab’s entries when it changes its own', () => {
    const { outbox, offline, sends, stored } = setup();
    offline.putSend(ALICE.id, { ref: 'other-tab.1', room: 'lobby', text: 'from the other tab', createdAt: NOW - 1, status: 'pending' });
    outbox.send('lobby', 'mine');
    stored(sends()[0]!.ref!);
    expect(offline.loadOutbox(ALICE.id).map((s) => s.ref)).toEqual(['other-tab.1']);
  });
});
