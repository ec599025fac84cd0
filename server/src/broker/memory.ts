import { randomBytes, randomUUID } from 'node:crypto';
import { MAX_ID, compareIds } from '../protocol.js';
import {
  messageBody,
  messageFrame,
  replayTruncated,
  type Broker,
  type BrokerEvent,
  type Delivery,
  type DeliveryHandler,
  type HistoryPage,
  type HistoryQuery,
  type MessageDraft,
  type Replay,
  type ReplayQuery,
  type LapseHandler,
  type StoredMessage,
  type UserDeliveryHandler,
} from './broker.js';
import { trimBatch } from './history.js';

interface RoomLog {
  entries: StoredMessage[];
  /** Id of the newest message trimmed away, if any. */
  trimmedUpTo?: string;
  /** Time of the last write (ms), for idle expiry. */
  touchedAt: number;
  /** Idempotency keys of recent sends → the message stored for each, oldest first. */
  sent: Map<string, { message: StoredMessage; at: number }>;
}

export interface MemoryBrokerOptions {
  historyMaxLen: number;
  /** A room's history is dropped after this long without a message; 0 or absent: never. */
  idleTtlMs?: number;
  /** How long a send's idempotency key is remembered (ms). */
  dedupeTtlMs?: number;
  now?: () => number;
}

/**
 * The embedded broker: one process, nothing shared. Same contract as
 * RedisBroker, so the node cannot tell them apart.
 */
export class MemoryBroker implements Broker {
  private handler: DeliveryHandler = () => {};
  private userHandler: UserDeliveryHandler = () => {};
  private readonly subscribed = new Set<string>();
  private readonly users = new Set<string>();
  private readonly logs = new Map<string, RoomLog>();
  private lastMs = 0;
  private lastSeq = 0;
  /**
   * Every log of this process is one incarnation: it ends with the process
   * (all history is gone then), so the epoch changes exactly when it must.
   */
  private readonly epoch = randomBytes(9).toString('base64url');

  private readonly pruner?: NodeJS.Timeout;

  constructor(private readonly options: MemoryBrokerOptions) {
    const ttl = options.idleTtlMs ?? 0;
    if (ttl > 0) {
      // Idle logs nobody reads again would stay forever: drop them now and then.
      this.pruner = setInterval(() => this.prune(), Math.min(ttl, 3600_000));
      this.pruner.unref();
    }
  }

  /** Drops every log idle past the TTL. */
  prune(): void {
    for (const room of [...this.logs.keys()]) this.liveLog(room);
  }

  onDelivery(handler: DeliveryHandler): void {
    this.handler = handler;
  }

  on(_event: BrokerEvent, _listener: () => void): void {
    // Memory never goes down.
  }

  async subscribe(room: string): Promise<void> {
    this.subscribed.add(room);
  }

  async unsubscribe(room: string): Promise<void> {
    this.subscribed.delete(room);
  }

  onUserDelivery(handler: UserDeliveryHandler): void {
    this.userHandler = handler;
  }

  async subscribeUser(userId: string): Promise<void> {
    this.users.add(userId);
  }

  async unsubscribeUser(userId: string): Promise<void> {
    this.users.delete(userId);
  }

  async publishToUser(userId: string, frame: string): Promise<void> {
    if (!this.users.has(userId)) return;
    queueMicrotask(() => {
      if (this.users.has(userId)) this.userHandler(userId, frame);
    });
  }

  /** The room store's removal of a member, on the room's feed (Redis publishes it from a script). */
  deliverRemoval(room: string, userId: string, frame: string): void {
    this.deliver({ room, frame, removed: userId });
  }

  /** True when the room has stored messages (not expired). */
  hasHistory(room: string): boolean {
    return this.liveLog(room) !== undefined;
  }

  onLapses(_handler: LapseHandler): void {
    // Memory subscriptions never lapse.
  }

  async publish(draft: MessageDraft): Promise<StoredMessage> {
    const log = this.logFor(draft.room);
    const now = this.now();
    const ttl = this.options.dedupeTtlMs ?? 10 * 60_000;
    for (const [key, { at }] of log.sent) {
      if (now - at < ttl) break;
      log.sent.delete(key);
    }
    const key = draft.key ?? `~${randomUUID()}`;
    const seen = log.sent.get(key);
    if (seen) return { ...seen.message, duplicate: true };
    const id = this.nextId();
    const frame = messageFrame(draft.room, id, messageBody(draft));
    log.touchedAt = now;
    log.sent.set(key, { message: { id, frame }, at: now });
    log.entries.push({ id, frame });
    const drop = trimBatch(log.entries.length, this.options.historyMaxLen);
    if (drop > 0) log.trimmedUpTo = log.entries.splice(0, drop).at(-1)!.id;
    this.deliver({ room: draft.room, id, frame });
    return { id, frame };
  }

  async publishEvent(room: string, frame: string, skip?: string): Promise<void> {
    this.deliver({ room, frame, skip });
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const log = this.liveLog(room);
    if (!log) return { messages: [], truncated: false };
    let entries: StoredMessage[];
    let truncated = false;
    if (query.since !== undefined) {
      const since = query.since;
      entries = log.entries.filter((e) => compareIds(e.id, since) > 0);
      truncated = log.trimmedUpTo !== undefined && compareIds(log.trimmedUpTo, since) > 0;
    } else {
      const before = query.before;
      const older = before === undefined ? log.entries : log.entries.filter((e) => compareIds(e.id, before) < 0);
      entries = older.slice(-(query.limit ?? older.length));
    }
    return { messages: entries, truncated };
  }

  async replay(room: string, query: ReplayQuery): Promise<Replay> {
    const log = this.liveLog(room);
    const epoch = this.epoch;
    if (query.since === undefined) return { messages: log?.entries.slice(-query.limit) ?? [], truncated: false, epoch };
    const since = query.since;
    const messages = since === MAX_ID ? [] : (log?.entries.filter((e) => compareIds(e.id, since) > 0) ?? []);
    const truncated = replayTruncated(since, { epoch: query.epoch, currentEpoch: epoch, trimmedUpTo: log?.trimmedUpTo, newest: log?.entries.at(-1)?.id });
    return { messages, truncated, epoch };
  }

  async checkLog(): Promise<boolean> {
    return false; // one process: its log loses nothing it published
  }

  isReady(): boolean {
    return true;
  }

  async health(): Promise<void> {}

  async close(): Promise<void> {
    clearInterval(this.pruner);
    this.subscribed.clear();
    this.users.clear();
  }

  private logFor(room: string): RoomLog {
    let log = this.liveLog(room);
    if (!log) this.logs.set(room, (log = { entries: [], touchedAt: this.now(), sent: new Map() }));
    return log;
  }

  /** The room's log, unless it sat idle past the TTL (then it is dropped, as Redis expires the stream). */
  private liveLog(room: string): RoomLog | undefined {
    const log = this.logs.get(room);
    const ttl = this.options.idleTtlMs ?? 0;
    if (log && ttl > 0 && this.now() - log.touchedAt >= ttl) {
      this.logs.delete(room);
      return undefined;
    }
    return log;
  }

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /** Ids in Redis's form: ms-seq, strictly increasing even if the clock steps back. */
  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq++;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }

  private deliver(delivery: Delivery): void {
    if (!this.subscribed.has(delivery.room)) return;
    // Asynchronous like a real broker, so callers never see re-entrant deliveries.
    queueMicrotask(() => {
      if (this.subscribed.has(delivery.room)) this.handler(delivery);
    });
  }
}
