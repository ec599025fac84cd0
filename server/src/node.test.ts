/**
 * ChatNode's join: replay and live feed together, without gap or duplicate,
 * whatever order the broker's two paths (history reads, live deliveries)
 * answer in.
 *
 * With Redis, history comes back on the command connection and live messages
 * on the subscriber connection: two sockets, no order between them. A message
 * stored just before the history read can reach the node live only after the
 * join has finished. The LaggingBroker below reproduces that on the memory
 * broker: it holds live deliveries until the test releases them.
 */
import { EventEmitter } from 'node:events';
import type { FastifyBaseLogger } from 'fastify';
import { describe, expect, it } from 'vitest';
import type {
  Broker,
  BrokerEvent,
  Delivery,
  DeliveryHandler,
  HistoryPage,
  HistoryQuery,
  MessageDraft,
  Replay,
  ReplayQuery,
  LapseHandler,
  StoredMessage,
  UserDeliveryHandler,
} from './broker/broker.js';
import { until } from './broker/broker.contract.js';
import { MemoryBroker } from './broker/memory.js';
import { createMetrics } from './metrics.js';
import { ChatNode } from './node.js';
import { MemoryPresence } from './presence/memory.js';
import type { ChatMessage, PresenceFrame, ServerFrame, User } from './protocol.js';
import type { Connection, Membership } from './realtime/connection.js';
import { Hub } from './realtime/hub.js';
import { MemoryRoomStore } from './rooms/memory.js';
import { RoomPolicy } from './rooms/policy.js';
import type { Identity } from './auth.js';

/** The memory broker, with live deliveries held back until `release()`, and a hook before each history read. */
class LaggingBroker implements Broker {
  private handler: DeliveryHandler = () => {};
  readonly held: Delivery[] = [];
  private readonly events = new EventEmitter();
  beforeHistory: (() => Promise<void>) | undefined;
  afterHistory: (() => Promise<void>) | undefined;

  constructor(readonly inner: MemoryBroker) {
    inner.onDelivery((delivery) => this.held.push(delivery));
  }

  release(): void {
    for (const delivery of this.held.splice(0)) this.handler(delivery);
  }

  onDelivery(handler: DeliveryHandler): void {
    this.handler = handler;
  }
  on(event: BrokerEvent, listener: () => void): void {
    this.events.on(event, listener);
  }
  private lapses: LapseHandler = { lapsed: () => {}, restored: () => {} };
  onLapses(handler: LapseHandler): void {
    this.lapses = handler;
  }
  /** What the Redis broker reports when a room's subscription is lost. */
  lapse(rooms: string[]): void {
    this.lapses.lapsed(rooms);
  }
  /** What the Redis broker reports after a room's subscription was restored. */
  restore(rooms: string[]): void {
    this.lapses.restored(rooms);
  }
  /** Deliveries published during a gap in the subscription: gone. */
  drop(): void {
    this.held.length = 0;
  }
  subscribe(room: string): Promise<void> {
    return this.inner.subscribe(room);
  }
  onUserDelivery(handler: UserDeliveryHandler): void {
    this.inner.onUserDelivery(handler);
  }
  subscribeUser(userId: string): Promise<void> {
    return this.inner.subscribeUser(userId);
  }
  unsubscribeUser(userId: string): Promise<void> {
    return this.inner.unsubscribeUser(userId);
  }
  publishToUser(userId: string, frame: string): Promise<void> {
    return this.inner.publishToUser(userId, frame);
  }
  unsubscribe(room: string): Promise<void> {
    return this.inner.unsubscribe(room);
  }
  publish(draft: MessageDraft): Promise<StoredMessage> {
    return this.inner.publish(draft);
  }
  publishEvent(room: string, frame: string, skip?: string): Promise<void> {
    return this.inner.publishEvent(room, frame, skip);
  }
  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    await this.runHook();
    const page = await this.inner.history(room, query);
    const after = this.afterHistory;
    this.afterHistory = undefined;
    await after?.();
    return page;
  }
  async replay(room: string, query: ReplayQuery): Promise<Replay> {
    await this.runHook();
    return this.inner.replay(room, query);
  }
  private async runHook(): Promise<void> {
    const hook = this.beforeHistory;
    this.beforeHistory = undefined;
    await hook?.();
  }
  isReady(): boolean {
    return true;
  }
  health(): Promise<void> {
    return this.inner.health();
  }
  checkLog(): Promise<boolean> {
    return this.inner.checkLog();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

/** The part of a Connection the node and the hub use; records every frame sent, as parsed JSON. */
class FakeConnection {
  readonly rooms = new Map<string, Membership>();
  readonly frames: ServerFrame[] = [];
  closed = false;

  constructor(
    readonly id: string,
    readonly user: User,
  ) {}

  get identity(): Identity {
    return { user: this.user, expiresAt: Date.now() + 60_000, admin: false };
  }

  send(frame: ServerFrame): boolean {
    return this.sendRaw(JSON.stringify(frame));
  }
  sendRaw(data: Buffer | string): boolean {
    this.frames.push(JSON.parse(data.toString()) as ServerFrame);
    return true;
  }
  sendFramed(_frame: Buffer, payload: Buffer): boolean {
    return this.sendRaw(payload);
  }
  messageIds(room: string): string[] {
    return this.frames.filter((f): f is ChatMessage => f.type === 'message' && f.room === room).map((m) => m.id);
  }
  asConnection(): Connection {
    return this as unknown as Connection;
  }
}

/** A logger that keeps the message of every call (pino style: the message is the last string argument). */
function recordingLog(lines: string[]): FastifyBaseLogger {
  const log: FastifyBaseLogger = new Proxy({} as FastifyBaseLogger, {
    get: (_target, name) =>
      name === 'child'
        ? () => log
        : (...args: unknown[]) => {
            const message = args.filter((arg): arg is string => typeof arg === 'string').at(-1);
            if (message !== undefined) lines.push(message);
          },
  });
  return log;
}

function setup() {
  const broker = new LaggingBroker(new MemoryBroker({ historyMaxLen: 1000 }));
  const hub = new Hub();
  const presence = new MemoryPresence(broker);
  const store = new MemoryRoomStore(broker.inner, presence, { idleTtlMs: 0 });
  const policy = new RoomPolicy(store);
  const logs: string[] = [];
  const node = new ChatNode(hub, broker, presence, policy, store, createMetrics(), recordingLog(logs), { maxRoomsPerConnection: 10, publishAttemptTimeoutMs: 5000 });
  const connect = (id: string, name: string) => {
    const connection = new FakeConnection(id, { id: `u_${name}`, name });
    hub.add(connection.asConnection());
    return connection;
  };
  /** Resolves when the node has finished its `count`th resync. */
  const resynced = (count: number) => until(() => logs.filter((line) => line.includes('rooms resynchronised')).length >= count, 2000, `resync ${count}`);
  return { broker, node, presence, connect, resynced };
}

const author: User = { id: 'u_author', name: 'author' };

describe('ChatNode join', () => {
  it('sends a message stored before the replay read, and delivered live after the join, only once', async () => {
    const { broker, node, connect } = setup();
    const room = 'race';
    const first = await broker.publish({ room, user: author, text: 'one' });
    const reader = connect('c1', 'reader');
    let racing: StoredMessage | undefined;
    // Stored (and published) after the subscription, read by the replay, delivered live late.
    broker.beforeHistory = async () => {
      racing = await broker.publish({ room, user: author, text: 'two' });
    };
    await node.join(reader.asConnection(), room, { since: first.id });
    expect(reader.messageIds(room)).toEqual([racing!.id]);
    broker.release();
    const later = await broker.publish({ room, user: author, text: 'three' });
    broker.release();
    expect(reader.messageIds(room)).toEqual([racing!.id, later.id]);
  });

  it('buffers live messages that arrive during the replay and sends them after it, in order', async () => {
    const { broker, node, connect } = setup();
    const room = 'buffered';
    const stored = [await broker.publish({ room, user: author, text: 'a' }), await broker.publish({ room, user: author, text: 'b' })];
    const reader = connect('c1', 'reader');
    let live: StoredMessage | undefined;
    broker.beforeHistory = async () => {
      live = await broker.publish({ room, user: author, text: 'c' });
      broker.release(); // arrives live while the join still waits for history
    };
    await node.join(reader.asConnection(), room, {});
    const kinds = reader.frames.map((f) => f.type);
    expect(kinds[0]).toBe('joined');
    expect(reader.messageIds(room)).toEqual([...stored.map((m) => m.id), live!.id]);
  });

  it('gives every send exactly one outcome carrying its ref', async () => {
    const { broker, node, connect } = setup();
    const room = 'acks';
    const sender = connect('c1', 'sender');
    await node.join(sender.asConnection(), room, {});
    await node.send(sender.asConnection(), room, 'hello', 'ref-1');
    broker.release();
    const outcomes = sender.frames.filter((f) => (f.type === 'message' || f.type === 'error') && f.ref === 'ref-1');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]).toMatchObject({ type: 'message', text: 'hello' });
  });
});

describe('ChatNode sends: one truthful outcome, never stored twice', () => {
  it('a publish that timed out after storing is retried with the same key: one message, one outcome', async () => {
    const { broker, node, connect } = setup();
    const room = 'stalled';
    const sender = connect('c1', 'sender');
    await node.join(sender.asConnection(), room, {});
    // The first attempt reaches the store, then its answer is lost (as when Redis is paused or fails over).
    const publish = broker.publish.bind(broker);
    let attempts = 0;
    broker.publish = async (draft) => {
      attempts++;
      await publish(draft);
      if (attempts === 1) throw new Error('Command timed out');
      return publish(draft);
    };
    const sending = node.send(sender.asConnection(), room, 'once', 'ref-stall');
    await sending;
    broker.release();
    expect(attempts).toBe(2);
    const outcomes = sender.frames.filter((f) => (f.type === 'message' || f.type === 'error') && f.ref === 'ref-stall');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.type).toBe('message');
    expect((await broker.history(room, { limit: 10 })).messages).toHaveLength(1);
  });

  it("a client's retry with a used ref, on a new socket, gets the stored message once and stores nothing", async () => {
    const { broker, node, connect } = setup();
    const room = 'retry';
    const first = connect('c1', 'sender');
    await node.join(first.asConnection(), room, {});
    await node.send(first.asConnection(), room, 'hello', 'ref-once');
    broker.release();
    const stored = (await broker.history(room, { limit: 10 })).messages;
    expect(stored).toHaveLength(1);
    // The client lost the socket before the outcome, reconnected, and sends again with the same ref.
    const second = connect('c2', 'sender');
    await node.join(second.asConnection(), room, { since: stored[0]!.id });
    await node.send(second.asConnection(), room, 'hello', 'ref-once');
    broker.release();
    const outcomes = second.frames.filter((f) => f.type === 'message' && f.ref === 'ref-once');
    expect(outcomes).toEqual([JSON.parse(stored[0]!.frame)]);
    expect((await broker.history(room, { limit: 10 })).messages).toHaveLength(1);
  });

  it('a refusal that is known to have stored nothing is answered at once with internal', async () => {
    const { broker, node, connect } = setup();
    const room = 'refused';
    const sender = connect('c1', 'sender');
    await node.join(sender.asConnection(), room, {});
    broker.publish = async () => {
      throw new Error("Stream isn't writeable and enableOfflineQueue options is false");
    };
    await expect(node.send(sender.asConnection(), room, 'no', 'ref-no')).rejects.toMatchObject({ code: 'internal' });
  });
});

describe('ChatNode after a gap in the subscription (resync)', () => {
  const presenceFrames = (connection: FakeConnection) => connection.frames.filter((f): f is PresenceFrame => f.type === 'presence');

  /** A reader in `room` who has received one message ('before'). */
  async function readerWithOne(room: string) {
    const t = setup();
    const reader = t.connect('c1', 'reader');
    await t.node.join(reader.asConnection(), room, {});
    const before = await t.broker.publish({ room, user: author, text: 'before' });
    t.broker.release();
    return { ...t, reader, before };
  }

  /** While the subscription is lapsed: one message lost in the gap, then a newer one delivered live. */
  async function gapThenLive(broker: LaggingBroker, room: string): Promise<[StoredMessage, StoredMessage]> {
    const lost = await broker.publish({ room, user: author, text: 'published in the gap' });
    broker.drop();
    const after = await broker.publish({ room, user: author, text: 'after' });
    broker.release();
    return [lost, after];
  }

  it('a message that arrives live between the lapse and its restore waits for the gap: nothing is skipped', async () => {
    const room = 'lapse';
    const { broker, reader, before, resynced } = await readerWithOne(room);

    // The subscription lapses (a shard died): what is published on the new master before we subscribe there is lost to us...
    // ...and once subscribed there, the next message arrives before the subscriber has reported the restore.
    broker.lapse([room]);
    const [lost, after] = await gapThenLive(broker, room);
    expect(reader.messageIds(room)).toEqual([before.id]);

    broker.restore([room]);
    await resynced(1);
    expect(reader.messageIds(room)).toEqual([before.id, lost.id, after.id]);
  });

  it('a lapse during a gap fill keeps the room held until that lapse is restored too', async () => {
    const room = 'lapse-twice';
    const { broker, reader, before, resynced } = await readerWithOne(room);

    broker.lapse([room]);
    let lost: StoredMessage | undefined;
    let after: StoredMessage | undefined;
    // Just after the first fill read the log, the subscription lapses again: a message is lost in the
    // new gap, and a newer one arrives live before this second lapse is reported restored.
    broker.afterHistory = async () => {
      broker.lapse([room]);
      [lost, after] = await gapThenLive(broker, room);
    };
    broker.restore([room]);
    await resynced(1);
    expect(reader.messageIds(room)).toEqual([before.id]);

    broker.restore([room]);
    await resynced(2);
    expect(reader.messageIds(room)).toEqual([before.id, lost!.id, after!.id]);
  });

  it('sends the presence diffs the gap swallowed as one diff', async () => {
    const { broker, node, presence, connect, resynced } = setup();
    const room = 'gap';
    const watcher = connect('c1', 'watcher');
    await node.join(watcher.asConnection(), room, {});
    await presence.join(room, { connectionId: 'elsewhere-1', user: { id: 'u_leaver', name: 'leaver' } });
    broker.release();
    expect(presenceFrames(watcher)).toEqual([{ type: 'presence', room, joined: [{ id: 'u_leaver', name: 'leaver' }], left: [] }]);

    // During the gap: leaver goes, newcomer comes; neither diff arrives.
    await presence.leave(room, 'elsewhere-1');
    await presence.join(room, { connectionId: 'elsewhere-2', user: { id: 'u_newcomer', name: 'newcomer' } });
    broker.drop();
    broker.restore([room]);
    await resynced(1);
    expect(presenceFrames(watcher)).toHaveLength(2);
    expect(presenceFrames(watcher)[1]).toEqual({
      type: 'presence',
      room,
      joined: [{ id: 'u_newcomer', name: 'newcomer' }],
      left: [{ id: 'u_leaver', name: 'leaver' }],
    });

    // Nothing missed, nothing sent: the view has caught up.
    broker.restore([room]);
    await resynced(2);
    expect(presenceFrames(watcher)).toHaveLength(2);
  });
});
