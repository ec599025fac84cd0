import type { FastifyBaseLogger } from 'fastify';
import { randomUUID } from 'node:crypto';
import { idempotencyKey, type Broker, type MessageDraft, type StoredMessage } from './broker/broker.js';
import { RoomFeeds } from './feeds.js';
import { OutcomeUnknown, Publisher } from './publisher.js';
import { ChatError } from './errors.js';
import type { RoomPolicy } from './rooms/policy.js';
import type { RoomStore } from './rooms/store.js';
import type { Metrics } from './metrics.js';
import type { PresenceManager } from './presence/presence.js';
import { ErrorCode, LIMITS, compareIds, previousId, type JoinedFrame, type TypingEvent, type User } from './protocol.js';
import type { Connection } from './realtime/connection.js';
import type { Hub } from './realtime/hub.js';

export interface NodeOptions {
  maxRoomsPerConnection: number;
  /** A store attempt not settled by then is retried (its outcome is unknown). */
  publishAttemptTimeoutMs: number;
}

/**
 * The chat logic between sockets and the broker: joins with replay,
 * sends, typing and presence; each room's ordered feed is RoomFeeds'. It
 * talks to the Hub (sockets), the Broker and the PresenceManager only
 * through their interfaces.
 */
export class ChatNode {
  private readonly feeds: RoomFeeds;
  private readonly publisher: Publisher;

  constructor(
    private readonly hub: Hub,
    private readonly broker: Broker,
    private readonly presence: PresenceManager,
    private readonly policy: RoomPolicy,
    private readonly rooms: RoomStore,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly options: NodeOptions,
  ) {
    this.feeds = new RoomFeeds({
      hub,
      broker,
      presence,
      policy,
      metrics,
      log,
      evict: (room, userId, frame) => this.evict(room, userId, frame),
      failure: (err, during) => this.brokerFailure(err, during),
    });
    broker.onDelivery((delivery) => this.feeds.receive(delivery));
    broker.onUserDelivery((userId, frame) => this.metrics.framesOut.inc(this.hub.sendToUser(userId, frame)));
    broker.onLapses({ lapsed: (rooms) => this.feeds.hold(rooms), restored: (rooms) => void this.feeds.resync(rooms) });
    this.publisher = new Publisher(broker, metrics, log, { retryMs: 250, attemptTimeoutMs: options.publishAttemptTimeoutMs });
  }

  /** A socket opened: its user's addressed frames now have a destination here. */
  connect(connection: Connection): void {
    if (!this.hub.add(connection)) return;
    this.broker.subscribeUser(connection.user.id).catch((err) => this.brokerFailure(err, 'subscribe user'));
  }

  /**
   * Subscribes first, buffers live frames, reads history after `since`, then
   * sends `joined`, the replay and the buffered frames, skipping ids already
   * sent: no gap, no duplicate.
   */
  async join(connection: Connection, room: string, resume: { since?: string; epoch?: string }, ref?: string): Promise<void> {
    const { since } = resume;
    let membership = connection.rooms.get(room);
    const rejoin = membership !== undefined;
    if (!rejoin && connection.rooms.size >= this.options.maxRoomsPerConnection) {
      throw new ChatError(ErrorCode.badRequest, `a connection may join at most ${this.options.maxRoomsPerConnection} rooms`);
    }
    if (membership) {
      membership.pending ??= [];
    } else {
      membership = { pending: [] };
      connection.rooms.set(room, membership);
    }
    const current = membership;
    const stillJoining = () => connection.rooms.get(room) === current && !connection.closed;
    try {
      // Subscribed before the decision is read: a removal made after it arrives on the feed.
      await this.feeds.open(room, connection);
      const access = await this.policy.authorize(connection.identity, room, 'read');
      if (!stillJoining()) return;
      // Members' names, for member lists (a hint: not worth failing the join for).
      if (access.role !== null) this.rooms.rememberName(room, connection.user).catch((err) => this.brokerFailure(err, 'remember name'));
      const users = await this.presence.join(room, { connectionId: connection.id, user: connection.user });
      if (!stillJoining()) {
        // Removed (or left) while joining: the presence entry just made must not stay behind.
        await this.presence.leave(room, connection.id);
        return;
      }
      this.feeds.knowUsers(room, users);
      const page = await this.broker.replay(room, { since, epoch: resume.epoch, limit: LIMITS.defaultReplay });
      if (!stillJoining()) return; // left, removed or closed meanwhile
      this.feeds.noteBaseline(room, page.messages.at(-1)?.id ?? since ?? '0-0');
      const joined: JoinedFrame = { type: 'joined', room, users, truncated: page.truncated, epoch: page.epoch };
      connection.send(ref === undefined ? joined : { ...joined, ref });
      const first = page.messages[0]?.id;
      current.receivesAfter = since ?? (first === undefined ? this.feeds.baseline(room) : previousId(first));
      let lastSent = since;
      for (const message of page.messages) {
        connection.sendRaw(message.frame, true);
        lastSent = message.id;
      }
      const pending = current.pending ?? [];
      current.pending = null;
      for (const delivery of pending) {
        if (delivery.id !== undefined) {
          if (lastSent !== undefined && compareIds(delivery.id, lastSent) <= 0) continue;
          lastSent = delivery.id;
        }
        connection.sendRaw(delivery.frame, true);
      }
      current.replayedUpTo = lastSent;
    } catch (err) {
      const refused = err instanceof ChatError && (err.code === ErrorCode.forbidden || err.code === ErrorCode.notFound);
      if ((!rejoin || refused) && connection.rooms.get(room) === current) await this.removeMembership(connection, room);
      else current.pending = null;
      throw this.brokerFailure(err, 'join');
    }
  }

  async leave(connection: Connection, room: string): Promise<void> {
    if (!connection.rooms.has(room)) throw new ChatError(ErrorCode.notJoined, `not joined to room "${room}"`);
    await this.removeMembership(connection, room);
  }

  /**
   * Stores and publishes; the sender's copy (with its ref) arrives through
   * the room feed like everyone's. Exactly one outcome: a send whose ref
   * this user already used gets the message stored then, sent here only if
   * this membership did not get it already.
   */
  async send(connection: Connection, room: string, text: string, ref?: string): Promise<void> {
    if (!connection.rooms.has(room)) throw new ChatError(ErrorCode.notJoined, `not joined to room "${room}"`);
    let stored: StoredMessage;
    try {
      stored = await this.publisher.publish(this.draft(room, connection.user, text, ref), () => !connection.closed);
    } catch (err) {
      if (err instanceof OutcomeUnknown) return; // the socket closed: nobody to tell
      throw err;
    }
    const membership = connection.rooms.get(room);
    // Left the room before its own message came back: answer it directly, so every send has an outcome.
    if (!membership) return void connection.sendRaw(stored.frame);
    const after = membership.receivesAfter;
    if (stored.duplicate && (after === undefined || compareIds(stored.id, after) <= 0)) connection.sendRaw(stored.frame);
  }

  async typing(connection: Connection, room: string): Promise<void> {
    if (!connection.rooms.has(room)) throw new ChatError(ErrorCode.notJoined, `not joined to room "${room}"`);
    const frame: TypingEvent = { type: 'typing', room, user: connection.user };
    try {
      await this.broker.publishEvent(room, JSON.stringify(frame), connection.id);
    } catch (err) {
      throw this.brokerFailure(err, 'typing');
    }
  }

  /**
   * Publishes a message for the HTTP API. While the outcome is unknown it
   * retries as long as `wanted()` says; then throws OutcomeUnknown.
   */
  publish(room: string, user: User, text: string, wanted: () => boolean): Promise<StoredMessage> {
    return this.publisher.publish(this.draft(room, user, text), wanted);
  }

  private draft(room: string, user: User, text: string, ref?: string): MessageDraft {
    const key = idempotencyKey(user.id, ref, randomUUID);
    return ref === undefined ? { room, user, text, key } : { room, user, text, ref, key };
  }

  /** The socket is gone: leave every room (presence `left` goes out where it was the user's last connection). */
  async disconnect(connection: Connection): Promise<void> {
    if (this.hub.remove(connection)) {
      this.broker.unsubscribeUser(connection.user.id).catch((err) => this.brokerFailure(err, 'unsubscribe user'));
    }
    await Promise.allSettled([...connection.rooms.keys()].map((room) => this.removeMembership(connection, room)));
  }

  /**
   * A user was removed from the room: each of their local sockets in it gets
   * the frame and leaves, whether joined or still joining. Arrives on the
   * room's feed, so nothing published after the removal reaches them.
   */
  private evict(room: string, userId: string, frame: string): void {
    for (const connection of [...this.hub.membersOf(room)]) {
      if (connection.user.id !== userId) continue;
      connection.sendRaw(frame);
      void this.removeMembership(connection, room);
    }
  }

  private async removeMembership(connection: Connection, room: string): Promise<void> {
    connection.rooms.delete(room);
    if (this.hub.removeMember(room, connection)) this.feeds.close(room);
    try {
      await this.presence.leave(room, connection.id);
    } catch (err) {
      // Not fatal: if this replica cannot reach Redis now, the presence
      // manager retries the removal with its next heartbeats.
      this.brokerFailure(err, 'presence leave');
    }
  }

  private brokerFailure(err: unknown, during: string): ChatError {
    if (err instanceof ChatError) return err;
    this.metrics.brokerErrors.inc();
    this.log.warn({ err, during }, 'broker operation failed');
    return new ChatError(ErrorCode.internal, `${during} failed: the broker is unreachable`);
  }
}

