import { randomBytes, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Cluster, Redis } from 'ioredis';
import type { RedisTarget } from '../config.js';
import { MAX_ID, compareIds } from '../protocol.js';
import { ClusterSubscriber } from '../redis/cluster-subscriber.js';
import '../redis/commands.js';
import { connectCommands, connectServer, waitReady, withTimeout, type RedisClient } from '../redis/connect.js';
import { RedisKeys, decodePayload, encodeEvent } from '../redis/keys.js';
import { ServerSubscriber, type ShardSubscriber } from '../redis/subscriber.js';
import {
  messageBody,
  messageFrame,
  replayTruncated,
  type Broker,
  type BrokerEvent,
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
import { trimSlack } from './history.js';
import { CHECK_LOG_SCRIPT, PUBLISH_SCRIPT, REPLAY_SCRIPT } from './scripts.js';

type StreamEntry = [id: string, fields: string[]];

export interface RedisBrokerOptions {
  redis: RedisTarget;
  historyMaxLen: number;
  commandTimeoutMs: number;
  /** A room's keys expire after this long without a write (ms); 0: never. */
  idleTtlMs?: number;
  /** How long a send's idempotency key is remembered (ms). */
  dedupeTtlMs?: number;
  keyPrefix?: string;
  /** Names this process's connections in CLIENT LIST: `<name>`, and `<name>:sub` for a Cluster shard's subscriptions. */
  connectionName?: string;
  /** Connection errors (ioredis reconnects by itself); for logs and metrics. */
  onError?: (err: Error) => void;
}

/** A Cluster's answer that the command ran nowhere and belongs elsewhere, or later (READONLY: a master that came back as a replica). */
const isRedirect = (err: unknown) => err instanceof Error && err.name === 'ReplyError' && /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|READONLY) /.test(err.message);

/**
 * An epoch nobody has used: names one incarnation of a room's log. A random
 * base per process (96 bits) and a counter: every publish offers one (used
 * only when the log has none yet), so it costs no entropy, and no syscall,
 * per message.
 */
const EPOCH_BASE = randomBytes(12).toString('base64url');
let epochs = 0;
const newEpoch = () => `${EPOCH_BASE}${(++epochs).toString(36)}`;
/** An epoch made by a read (a join of an empty room) lives at most this long before a write confirms it. */
const READ_EPOCH_TTL_MS = 24 * 3600_000;
const DEFAULT_DEDUPE_TTL_MS = 10 * 60_000;

/**
 * The broker of a replicated deployment, on one Redis, a Sentinel-managed
 * master, or a Redis Cluster: sharded pub/sub (SPUBLISH/SSUBSCRIBE, one
 * channel per room this process has members in, delivered by the room's
 * shard only) on subscriber connections of its own, history in a capped
 * stream per room. Every key and channel of a room is in the room's slot.
 */
export class RedisBroker implements Broker {
  readonly keys: RedisKeys;
  private readonly pub: RedisClient;
  private readonly sub: ShardSubscriber;
  private readonly events = new EventEmitter();
  private handler: DeliveryHandler = () => {};
  private userHandler: UserDeliveryHandler = () => {};
  private lapses: LapseHandler = { lapsed: () => {}, restored: () => {} };
  /** Rooms and users the node wants, by channel. */
  private readonly wanted = new Map<string, { room: string } | { user: string }>();
  private pubDown = false;
  private closed = false;

  constructor(private readonly options: RedisBrokerOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    const target = options.redis;
    const name = options.connectionName;
    // One server (single, Sentinel): commands and subscriptions share one RESP3 connection, so the reply
    // to a send's script and the sender's own pub/sub copy arrive in one read, and Redis writes them at once.
    this.pub =
      target.mode === 'cluster'
        ? connectCommands(target, { commandTimeoutMs: options.commandTimeoutMs, connectionName: name })
        : connectServer(target, { commandTimeoutMs: options.commandTimeoutMs, connectionName: name, autoResubscribe: false });
    const subName = name === undefined ? undefined : `${name}:sub`;
    this.withScripts(this.pub);
    this.sub =
      target.mode === 'cluster'
        ? new ClusterSubscriber(this.pub as Cluster, (host, port) =>
            // A shard's subscriber waits for its connection instead of failing a subscribe made while it dials.
            this.withScripts(connectServer({ mode: 'single', url: `redis${target.tls ? 's' : ''}://${host}:${port}`, username: target.username, password: target.password, tls: target.tls }, {
              commandTimeoutMs: options.commandTimeoutMs,
              connectionName: subName,
              autoResubscribe: false,
              enableOfflineQueue: true,
            })),
          )
        : new ServerSubscriber(this.pub as Redis);
    this.sub.on('message', (channel: string, payload: string) => this.receive(channel, payload));
    this.sub.on('lapsed', (channels: string[]) => this.lapses.lapsed(this.roomsOf(channels)));
    this.sub.on('restored', (channels: string[]) => this.lapses.restored(this.roomsOf(channels)));
    this.sub.on('down', () => this.events.emit('down'));
    this.sub.on('up', () => this.isReady() && this.events.emit('up'));
    this.pub.on('close', () => {
      if (this.closed || this.pubDown) return;
      this.pubDown = true;
      this.events.emit('down');
    });
    this.pub.on('ready', () => {
      this.pubDown = false;
      if (this.isReady()) this.events.emit('up');
    });
    // ioredis reconnects by itself. Without a listener an 'error' event would crash the process.
    this.pub.on('error', (err: Error) => options.onError?.(err));
  }

  /** Defines the broker's scripts on a connection. */
  private withScripts<T extends RedisClient>(redis: T): T {
    redis.defineCommand('roomcastPublish', { numberOfKeys: 7, lua: PUBLISH_SCRIPT });
    redis.defineCommand('roomcastReplay', { numberOfKeys: 3, lua: REPLAY_SCRIPT });
    redis.defineCommand('roomcastCheckLog', { numberOfKeys: 4, lua: CHECK_LOG_SCRIPT });
    return redis;
  }

  /** The command connection, shared with the Redis presence manager and the room store. */
  get client(): RedisClient {
    return this.pub;
  }

  onDelivery(handler: DeliveryHandler): void {
    this.handler = handler;
  }

  onUserDelivery(handler: UserDeliveryHandler): void {
    this.userHandler = handler;
  }

  onLapses(handler: LapseHandler): void {
    this.lapses = handler;
  }

  on(event: BrokerEvent, listener: () => void): void {
    this.events.on(event, listener);
  }

  subscribe(room: string): Promise<void> {
    return this.want(this.keys.channel(room), { room });
  }

  unsubscribe(room: string): Promise<void> {
    return this.unwant(this.keys.channel(room));
  }

  subscribeUser(userId: string): Promise<void> {
    return this.want(this.keys.userChannel(userId), { user: userId });
  }

  unsubscribeUser(userId: string): Promise<void> {
    return this.unwant(this.keys.userChannel(userId));
  }

  async publishToUser(userId: string, frame: string): Promise<void> {
    await this.pub.spublish(this.keys.userChannel(userId), frame);
  }

  async publish(draft: MessageDraft): Promise<StoredMessage> {
    const body = messageBody(draft);
    const head = `{"type":"message","room":"${draft.room}","id":"`;
    const { historyMaxLen } = this.options;
    const { room } = draft;
    const args = [
      this.keys.log(room),
      this.keys.trimmed(room),
      this.keys.meta(room),
      this.keys.members(room),
      this.keys.names(room),
      this.keys.epoch(room),
      this.keys.sent(room, draft.key ?? `~${randomUUID()}`),
      this.keys.channel(room),
      body,
      head,
      historyMaxLen,
      trimSlack(historyMaxLen),
      this.options.idleTtlMs ?? 0,
      newEpoch(),
      this.options.dedupeTtlMs ?? DEFAULT_DEDUPE_TTL_MS,
    ] satisfies Parameters<RedisClient['roomcastPublish']>;
    const [id, storedBody, duplicate] = await this.runPublish(this.keys.channel(room), args);
    if (duplicate === 1) return { id, frame: messageFrame(room, id, storedBody || body), duplicate: true };
    return { id, frame: messageFrame(room, id, body) };
  }

  /**
   * On a Cluster, the publish goes over the subscriber connection to the
   * room's master when there is a live one (there is whenever a local member
   * sends): the script's reply and the sender's own copy then arrive in one
   * read, as on one server. A redirect (the slot moved: nothing ran) goes
   * through the Cluster client, which follows it.
   */
  private async runPublish(channel: string, args: Parameters<RedisClient['roomcastPublish']>): Promise<[id: string, body: string, duplicate: 0 | 1]> {
    const direct = this.sub.commandsFor?.(channel);
    if (!direct) return this.pub.roomcastPublish(...args);
    try {
      return await direct.roomcastPublish(...args);
    } catch (err) {
      if (!isRedirect(err)) throw err;
      return this.pub.roomcastPublish(...args);
    }
  }

  async publishEvent(room: string, frame: string, skip = ''): Promise<void> {
    await this.pub.spublish(this.keys.channel(room), encodeEvent(frame, skip));
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const log = this.keys.log(room);
    // Nothing can be newer than the largest id (and Redis refuses an exclusive range from it).
    if (query.since === MAX_ID) return { messages: [], truncated: false };
    if (query.before === '0-0') return { messages: [], truncated: false };
    if (query.since !== undefined) {
      const results = await this.pub.multi().xrange(log, `(${query.since}`, '+').get(this.keys.trimmed(room)).exec();
      if (!results) throw new Error('history transaction aborted');
      const [[rangeErr, entries], [getErr, trimmedUpTo]] = results as [[Error | null, StreamEntry[]], [Error | null, string | null]];
      if (rangeErr || getErr) throw rangeErr ?? getErr;
      const truncated = trimmedUpTo !== null && compareIds(trimmedUpTo, query.since) > 0;
      return { messages: this.toMessages(room, entries), truncated };
    }
    const end = query.before === undefined ? '+' : `(${query.before}`;
    const entries = (await this.pub.xrevrange(log, end, '-', 'COUNT', query.limit ?? 50)) as StreamEntry[];
    return { messages: this.toMessages(room, entries.reverse()), truncated: false };
  }

  async replay(room: string, query: ReplayQuery): Promise<Replay> {
    // An exclusive range from the largest id is refused by Redis: ask for the newest entry only, then replay nothing.
    const since = query.since === MAX_ID ? undefined : query.since;
    const [epoch, trimmedUpTo, newest, entries] = await this.pub.roomcastReplay(
      this.keys.log(room),
      this.keys.trimmed(room),
      this.keys.epoch(room),
      since === undefined ? '' : `(${since}`,
      query.limit,
      newEpoch(),
      Math.min(READ_EPOCH_TTL_MS, this.options.idleTtlMs || READ_EPOCH_TTL_MS),
    );
    const messages = query.since === MAX_ID ? [] : this.toMessages(room, entries);
    if (query.since === undefined) return { messages, truncated: false, epoch };
    const truncated = replayTruncated(query.since, {
      epoch: query.epoch,
      currentEpoch: epoch,
      trimmedUpTo: trimmedUpTo || undefined,
      newest: newest || undefined,
    });
    return { messages, truncated, epoch };
  }

  async checkLog(room: string, newestSeen: string): Promise<boolean> {
    const renamed = await this.pub.roomcastCheckLog(
      this.keys.log(room),
      this.keys.trimmed(room),
      this.keys.epoch(room),
      this.keys.lost(room),
      newestSeen,
      newEpoch(),
      String(this.options.idleTtlMs ?? 0),
    );
    return renamed === 1;
  }

  isReady(): boolean {
    return this.pub.status === 'ready' && this.sub.isReady();
  }

  /** A timed PING on the command connection (every master of a cluster) and on every subscriber connection. */
  async health(timeoutMs: number): Promise<void> {
    if (!this.isReady()) throw new Error('Redis connections are not ready');
    const masters = 'nodes' in this.pub ? this.pub.nodes('master') : [this.pub as Redis];
    await Promise.all([...masters.map((node) => withTimeout(node.ping(), timeoutMs, 'PING')), this.sub.ping(timeoutMs)]);
  }

  /** Resolves once both connections are up; rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    await waitReady(this.pub, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    while (!this.sub.isReady()) {
      if (Date.now() > deadline) throw new Error(`the Redis subscriber did not become ready within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.pub.quit(), this.sub.close()]);
    this.pub.disconnect();
  }

  private async want(channel: string, what: { room: string } | { user: string }): Promise<void> {
    this.wanted.set(channel, what);
    try {
      await this.sub.subscribe(channel);
    } catch (err) {
      this.wanted.delete(channel);
      throw err;
    }
  }

  private async unwant(channel: string): Promise<void> {
    this.wanted.delete(channel);
    await this.sub.unsubscribe(channel);
  }

  private toMessages(room: string, entries: StreamEntry[]): StoredMessage[] {
    return entries.map(([id, fields]) => ({ id, frame: messageFrame(room, id, fields[1] ?? '') }));
  }

  private receive(channel: string, payload: string): void {
    const what = this.wanted.get(channel);
    if (!what) return;
    if ('user' in what) return this.userHandler(what.user, payload);
    const delivery = decodePayload(what.room, payload);
    if (delivery) this.handler(delivery);
  }

  /** The rooms among these channels (user channels carry nothing stored: no gap to fill). */
  private roomsOf(channels: string[]): string[] {
    const rooms: string[] = [];
    for (const channel of channels) {
      const what = this.wanted.get(channel);
      if (what && 'room' in what) rooms.push(what.room);
    }
    return rooms;
  }
}
