import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Broker, Delivery } from './broker/broker.js';
import { ChatError } from './errors.js';
import type { Metrics } from './metrics.js';
import { presenceFrame, type PresenceManager } from './presence/presence.js';
import { ErrorCode, compareIds, type PresenceFrame, type User } from './protocol.js';
import type { Connection } from './realtime/connection.js';
import type { Hub } from './realtime/hub.js';
import type { RoomPolicy } from './rooms/policy.js';
import { withTimeout } from './redis/connect.js';
import { removedFrame } from './rooms/store.js';

/**
 * This replica's view of one room it has members in: the broker
 * subscription, and where the live feed stands so that a gap (a Redis
 * reconnect) can be filled from history without duplicates.
 */
interface RoomFeed {
  subscribed: Promise<void>;
  /** Id of the newest message dispatched live. */
  lastId?: string;
  /** Newest id known from history reads, used before any live message. */
  baseline?: string;
  /** Set from a lapse of the subscription until its gap is filled: live deliveries wait here. */
  syncing: Delivery[] | null;
  /** A gap is being filled. */
  repairing?: boolean;
  /** The subscription lapsed and has not been reported restored since: keep holding. */
  lapsed?: boolean;
  /** Restored again while its gap was being filled: fill again. */
  repairAgain?: boolean;
  /**
   * The room's users as this replica's sockets know them: the first join's
   * list, then every presence diff delivered since. After a gap, the
   * difference to the stored presence is what the sockets missed.
   */
  users?: Map<string, User>;
}

/** How soon a gap fill that failed (the store still failing over) is tried again. */
const REPAIR_RETRY_MS = 250;
/** A gap fill taking longer counts as failed, and is tried again. */
const REPAIR_ATTEMPT_TIMEOUT_MS = 5000;

/** How every presence diff frame starts (presenceFrame and the Redis scripts both write it so). */
const PRESENCE_FRAME_START = '{"type":"presence"';

export interface FeedDeps {
  hub: Hub;
  broker: Broker;
  presence: PresenceManager;
  policy: RoomPolicy;
  metrics: Metrics;
  log: FastifyBaseLogger;
  /** Removes a user's local sockets from a room (the node's job: memberships and presence). */
  evict(room: string, userId: string, frame: string): void;
  /** Counts and logs a broker failure; returns the error to answer with. */
  failure(err: unknown, during: string): ChatError;
}

/**
 * The ordered feed of each room this replica has members in: its broker
 * subscription, the fan-out of what arrives (in id order, each id once), and
 * the repair after a lapse of the subscription (the gap read from the log,
 * removals and presence diffs the gap swallowed).
 */
export class RoomFeeds {
  private readonly feeds = new Map<string, RoomFeed>();

  constructor(private readonly deps: FeedDeps) {}

  /** Adds the connection to the room's local members, subscribing when it is the first; resolves once subscribed. */
  async open(room: string, connection: Connection): Promise<void> {
    const first = this.deps.hub.addMember(room, connection);
    let feed = this.feeds.get(room);
    if (first || !feed) {
      feed = { subscribed: this.deps.broker.subscribe(room), syncing: null };
      this.feeds.set(room, feed);
      this.deps.metrics.rooms.set(this.deps.hub.roomCount);
    }
    try {
      await feed.subscribed;
    } catch (err) {
      if (this.feeds.get(room) === feed) this.feeds.delete(room);
      throw err;
    }
  }

  /** The room lost its last local member: stop its feed. */
  close(room: string): void {
    this.feeds.delete(room);
    this.deps.metrics.rooms.set(this.deps.hub.roomCount);
    this.deps.broker.unsubscribe(room).catch((err) => this.deps.failure(err, 'unsubscribe'));
  }

  /** The room's users as the first join found them (presence diffs keep it current). */
  knowUsers(room: string, users: User[]): void {
    const feed = this.feeds.get(room);
    if (feed && !feed.users) feed.users = new Map(users.map((user) => [user.id, user]));
  }

  baseline(room: string): string | undefined {
    return this.feeds.get(room)?.baseline;
  }

  noteBaseline(room: string, id: string): void {
    const feed = this.feeds.get(room);
    if (feed && (feed.baseline === undefined || compareIds(id, feed.baseline) > 0)) feed.baseline = id;
  }

  receive(delivery: Delivery): void {
    const feed = this.feeds.get(delivery.room);
    if (!feed) return;
    if (feed.syncing) feed.syncing.push(delivery);
    else this.dispatch(feed, delivery);
  }

  private dispatch(feed: RoomFeed, delivery: Delivery): void {
    if (delivery.removed !== undefined) return this.deps.evict(delivery.room, delivery.removed, delivery.frame);
    if (delivery.id !== undefined) {
      if (feed.lastId !== undefined && compareIds(delivery.id, feed.lastId) <= 0) return;
      feed.lastId = delivery.id;
    } else if (feed.users && delivery.frame.startsWith(PRESENCE_FRAME_START)) {
      const diff = JSON.parse(delivery.frame) as PresenceFrame;
      for (const user of diff.left) feed.users.delete(user.id);
      for (const user of diff.joined) feed.users.set(user.id, user);
    }
    this.deps.metrics.broadcasts.inc();
    try {
      this.deps.metrics.framesOut.inc(this.deps.hub.broadcast(delivery));
    } catch (err) {
      // A bug here must not take the replica (and all its sockets) down.
      this.deps.log.error({ err, room: delivery.room }, 'broadcast failed');
    }
  }

  /**
   * The subscriptions of these rooms lapsed: from now on live deliveries
   * wait, since the first to come after the lapse may follow a gap. Nothing
   * newer may go out before the gap is filled (resync), or it would pass
   * the messages the gap holds and make them look old.
   */
  hold(rooms: string[]): void {
    for (const room of rooms) {
      const feed = this.feeds.get(room);
      if (!feed) continue;
      feed.lapsed = true;
      feed.syncing ??= [];
    }
  }

  /**
   * The subscriptions of these rooms lapsed and are live again: fetch what
   * each missed from its log, then release what arrived meanwhile.
   */
  async resync(rooms: string[]): Promise<void> {
    for (const room of rooms) {
      const feed = this.feeds.get(room);
      if (feed) feed.syncing ??= [];
    }
    // First our own members, so that the stored presence compared below includes them; bounded, so
    // that a store still failing over delays the gap fill, never blocks it.
    await withTimeout(this.deps.presence.reassert(), REPAIR_ATTEMPT_TIMEOUT_MS, 'presence reassert').catch((err) =>
      this.deps.failure(err, 'presence reassert'),
    );
    await Promise.all(rooms.map((room) => this.repair(room)));
    this.deps.log.info({ rooms: rooms.length }, 'subscriptions restored; rooms resynchronised');
  }

  /**
   * Fills one room's gap. Live deliveries wait meanwhile, so nothing newer
   * overtakes what the gap held; the fill is retried until it succeeds (the
   * store may still be failing over) and repeated if the subscription lapsed
   * again during it.
   */
  private async repair(room: string): Promise<void> {
    const feed = this.feeds.get(room);
    if (!feed) return;
    if (feed.repairing) {
      feed.repairAgain = true;
      return;
    }
    feed.repairing = true;
    feed.syncing ??= [];
    const current = () => this.feeds.get(room) === feed;
    try {
      do {
        // Restored: this fill covers every lapse reported so far.
        feed.repairAgain = false;
        feed.lapsed = false;
        while (!(await this.fillGap(room, feed)) && current()) await delay(REPAIR_RETRY_MS);
      } while (feed.repairAgain && current());
    } finally {
      feed.repairing = false;
      // Lapsed again after the last fill began, and not restored yet: the next restore's repair releases.
      if (!feed.lapsed || !current()) this.release(feed);
    }
  }

  /** Sends what waited during the gap, in order (ids already sent are dropped by dispatch). */
  private release(feed: RoomFeed): void {
    const waiting = feed.syncing ?? [];
    feed.syncing = null;
    for (const delivery of waiting) this.dispatch(feed, delivery);
  }

  /** What the gap swallowed: messages from the log, removals, presence diffs. False when the store failed. */
  private async fillGap(room: string, feed: RoomFeed): Promise<boolean> {
    try {
      // Bounded: a store command lost in a failing-over cluster must not hold the room's feed forever.
      await withTimeout(this.readGap(room, feed), REPAIR_ATTEMPT_TIMEOUT_MS, 'filling the gap');
      return true;
    } catch (err) {
      this.deps.failure(err, 'resync');
      return false;
    }
  }

  private async readGap(room: string, feed: RoomFeed): Promise<void> {
    if (feed.lastId !== undefined && (await this.deps.broker.checkLog(room, feed.lastId))) {
      this.deps.log.warn({ room, newestSeen: feed.lastId }, 'the room log lost entries this replica delivered (a failover?): epoch renewed');
    }
    const since = feed.lastId ?? feed.baseline ?? '0-0';
    const page = await this.deps.broker.history(room, { since });
    for (const message of page.messages) this.dispatch(feed, { room, id: message.id, frame: message.frame });
    await this.reauthorize(room);
    await this.resyncPresence(room, feed);
  }

  /**
   * Removals published during the gap were lost with the subscription (they
   * are not in the log): ask the policy again for every local user of the room.
   */
  private async reauthorize(room: string): Promise<void> {
    const byUser = new Map<string, Connection>();
    for (const connection of this.deps.hub.membersOf(room)) byUser.set(connection.user.id, connection);
    for (const [userId, connection] of byUser) {
      try {
        await this.deps.policy.authorize(connection.identity, room, 'read');
      } catch (err) {
        if (!(err instanceof ChatError) || err.code !== ErrorCode.forbidden) throw err;
        this.deps.evict(room, userId, removedFrame(room));
      }
    }
  }

  /**
   * Presence diffs published during the gap were lost with the subscription:
   * compare the stored presence with what the sockets know and send them
   * the difference as one diff, so nobody who left during the gap haunts the room.
   */
  private async resyncPresence(room: string, feed: RoomFeed): Promise<void> {
    const known = feed.users;
    if (!known) return;
    const stored = await this.deps.presence.list(room);
    const present = new Set(stored.map((user) => user.id));
    const joined = stored.filter((user) => !known.has(user.id));
    const left = [...known.values()].filter((user) => !present.has(user.id));
    if (joined.length > 0 || left.length > 0) this.dispatch(feed, { room, frame: presenceFrame(room, joined, left) });
  }
}
