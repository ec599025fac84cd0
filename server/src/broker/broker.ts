import { compareIds, type User } from '../protocol.js';

/**
 * What a broker hands to the node for one room: a finished frame, serialized
 * once by whoever published it, so fanning out to N sockets costs no JSON work.
 */
export interface Delivery {
  room: string;
  /** The frame exactly as sockets receive it (JSON text). */
  frame: string;
  /** Set for chat messages: the message id, used to order and de-duplicate. */
  id?: string;
  /** A connection that must not receive this frame (the one that caused it). */
  skip?: string;
  /**
   * A user removed from the room: only that user's sockets receive the
   * frame, and leave the room. Travels on the room's channel, so it is
   * ordered with the room's messages: nothing published after the removal
   * reaches the removed user.
   */
  removed?: string;
}

export type DeliveryHandler = (delivery: Delivery) => void;
/** A frame addressed to one user's sockets (see Broker.publishToUser). */
export type UserDeliveryHandler = (userId: string, frame: string) => void;

export interface MessageDraft {
  room: string;
  user: User;
  text: string;
  ref?: string;
  /**
   * Idempotency key: publishing again with the key of a message stored in the
   * last few minutes stores nothing and returns that message (`duplicate`).
   * See idempotencyKey(). Absent: a fresh key (never a duplicate).
   */
  key?: string;
}

export interface HistoryQuery {
  /** Every retained message with id > since, oldest first. */
  since?: string;
  /** The newest `limit` messages with id < before, oldest first. */
  before?: string;
  limit?: number;
}

/** A stored chat message: its id and its frame, serialized once. */
export interface StoredMessage {
  id: string;
  frame: string;
  /** From publish: the key was already used; this is the message stored then, and nothing was published now. */
  duplicate?: boolean;
}

export interface ReplayQuery {
  /** Every retained message with id > since; without it, the newest `limit`. */
  since?: string;
  /** The log epoch the client last saw (joined.epoch). */
  epoch?: string;
  limit: number;
}

/** What a join sends after `joined`, and what `joined` says of it. */
export interface Replay extends HistoryPage {
  /** The current incarnation of the room's log (contract v2, section C). */
  epoch: string;
}

export interface HistoryPage {
  /** Oldest first. */
  messages: StoredMessage[];
  /**
   * With `since`: true when at least one message with id > since was trimmed
   * from the retained history and can no longer be replayed.
   */
  truncated: boolean;
}

export type BrokerEvent = 'up' | 'down';
/**
 * What happens to room subscriptions between replicas and Redis. `lapsed`:
 * these rooms' subscriptions were lost (a connection dropped, a slot moved),
 * so live deliveries may now skip messages: hold them. `restored`: live
 * again; what was published meanwhile must be read from their logs before
 * the held deliveries go out. Each is said as soon as it is known.
 */
export interface LapseHandler {
  lapsed(rooms: string[]): void;
  restored(rooms: string[]): void;
}

/**
 * Carries a room's messages between replicas and keeps its bounded history.
 *
 * Contract (both implementations pass the same suite, broker.contract.ts):
 * - `publish` stores and publishes in one atomic step: the returned id is the
 *   history id, ids strictly increase within a room, and every subscriber
 *   receives a room's messages in id order.
 * - A subscriber receives every message published after `subscribe` resolved,
 *   except while its subscription lapsed (a reconnect, a failover, a slot
 *   that moved); the broker then names the rooms it restored, and the node
 *   reads each one's log to fill the gap (the broker cannot know what was missed).
 * - `publish` is idempotent by `key` for a few minutes, and a replay tells
 *   when the log cannot vouch for what a client missed: `truncated` is also
 *   true when the epoch changed or `since` is newer than the newest entry.
 * - `publishEvent` is fire-and-forget pub/sub for ephemeral frames (typing):
 *   never stored, at most once.
 * - History keeps at least the configured number of recent messages per room.
 * - A room's stored data expires after `idleTtlMs` without a write (0: never).
 * - Addressed delivery: a frame published to a user reaches every process
 *   subscribed to that user (at most once, never stored); a process
 *   subscribes while it holds sockets of the user.
 * - When the backing store is unreachable every call rejects (never hangs).
 */
export interface Broker {
  /** Receives every delivery for subscribed rooms. Set once, before subscribing. */
  onDelivery(handler: DeliveryHandler): void;
  /** up: reachable again; down: unreachable. */
  on(event: BrokerEvent, listener: () => void): void;
  /** Lapses and restorations of room subscriptions. Set once. */
  onLapses(handler: LapseHandler): void;

  subscribe(room: string): Promise<void>;
  unsubscribe(room: string): Promise<void>;

  /** Receives frames addressed to users this process subscribed to. Set once. */
  onUserDelivery(handler: UserDeliveryHandler): void;
  subscribeUser(userId: string): Promise<void>;
  unsubscribeUser(userId: string): Promise<void>;
  publishToUser(userId: string, frame: string): Promise<void>;

  publish(draft: MessageDraft): Promise<StoredMessage>;
  publishEvent(room: string, frame: string, skip?: string): Promise<void>;

  history(room: string, query: HistoryQuery): Promise<HistoryPage>;
  /** The replay of a join, with the log's epoch. */
  replay(room: string, query: ReplayQuery): Promise<Replay>;
  /**
   * After a lapse: true when the log no longer holds `newestSeen` although it
   * was never trimmed (Redis lost writes, e.g. in a failover). The epoch is
   * then renamed, once, so clients resuming with the old one are told `truncated`.
   */
  checkLog(room: string, newestSeen: string): Promise<boolean>;

  /** False while the backing store is unreachable. */
  isReady(): boolean;
  /** A timed round trip on every connection (readiness): rejects when one does not answer in time. */
  health(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The idempotency key of a send: the user and the client's ref (a client
 * retrying with the same ref gets its first message back), or a key unique
 * to one send without ref (the replica's own retries). Length-prefixed, so
 * no two (user, ref) pairs share a key.
 */
export function idempotencyKey(userId: string, ref: string | undefined, unique: () => string): string {
  return ref === undefined ? `~${unique()}` : `${userId.length}:${userId}:${ref}`;
}

/**
 * The v2 rule of `truncated` for a replay after `since`: a trimmed entry
 * newer than `since` (v1), another incarnation of the log than the client
 * saw, or a `since` newer than the newest entry the log holds (an empty log
 * holds none). Shared by both brokers.
 */
export function replayTruncated(since: string, q: { epoch?: string; trimmedUpTo?: string; newest?: string; currentEpoch: string }): boolean {
  if (q.trimmedUpTo !== undefined && compareIds(q.trimmedUpTo, since) > 0) return true;
  if (q.epoch !== undefined && q.epoch !== q.currentEpoch) return true;
  return q.newest === undefined || compareIds(since, q.newest) > 0;
}

/** The JSON body of a stored message without its id and time, which the store assigns. */
export function messageBody(draft: MessageDraft): string {
  const ref = draft.ref === undefined ? '' : `,"ref":${JSON.stringify(draft.ref)}`;
  return `"user":${JSON.stringify({ id: draft.user.id, name: draft.user.name })},"text":${JSON.stringify(draft.text)}${ref}}`;
}

/**
 * Builds the message frame from a stored body. The key order is fixed so that
 * Lua (which only concatenates) and Node produce identical bytes.
 */
export function messageFrame(room: string, id: string, body: string): string {
  return `{"type":"message","room":"${room}","id":"${id}","ts":${id.slice(0, id.indexOf('-'))},${body}`;
}
