import type { User } from '../protocol.js';

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

export type BrokerEvent = 'up' | 'down' | 'resync';

/**
 * Carries a room's messages between replicas and keeps its bounded history.
 *
 * Contract (both implementations pass the same suite, broker.contract.ts):
 * - `publish` stores and publishes in one atomic step: the returned id is the
 *   history id, ids strictly increase within a room, and every subscriber
 *   receives a room's messages in id order.
 * - A subscriber receives every message published after `subscribe` resolved,
 *   except while the broker is down; after a `resync` event the node must read
 *   history to fill the gap (the broker cannot know what was missed).
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
  /** up: reachable again; down: unreachable; resync: subscriptions were restored after a gap. */
  on(event: BrokerEvent, listener: () => void): void;

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

  /** False while the backing store is unreachable. */
  isReady(): boolean;
  close(): Promise<void>;
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
