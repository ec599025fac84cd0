import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { MAX_ID, compareIds } from '../protocol.js';
import '../redis/commands.js';
import { connectRedis, waitReady } from '../redis/connect.js';
import { RedisKeys, decodePayload, encodeEvent } from '../redis/keys.js';
import {
  messageBody,
  messageFrame,
  type Broker,
  type BrokerEvent,
  type DeliveryHandler,
  type HistoryPage,
  type HistoryQuery,
  type MessageDraft,
  type StoredMessage,
  type UserDeliveryHandler,
} from './broker.js';
import { trimSlack } from './history.js';

/**
 * Stores the message in the room's stream and publishes the finished frame in
 * one atomic step, so the stream id is the message id and pub/sub order is id
 * order. Trims in batches and remembers the newest trimmed id, which is what
 * `joined.truncated` is computed from.
 *
 * Every write refreshes the idle expiry of the room's keys (ARGV[6] ms; 0: never).
 *
 * KEYS: log, trimmed, meta, members, names. ARGV: channel, body, frame head, maxLen, slack, ttl.
 */
const PUBLISH_SCRIPT = `
local id = redis.call('XADD', KEYS[1], '*', 'b', ARGV[2])
if ARGV[6] ~= '0' then
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ARGV[6]) end
end
local ms = string.sub(id, 1, string.find(id, '-', 1, true) - 1)
redis.call('PUBLISH', ARGV[1], 'm' .. id .. '\\n' .. ARGV[3] .. id .. '","ts":' .. ms .. ',' .. ARGV[2])
local max = tonumber(ARGV[4])
local len = redis.call('XLEN', KEYS[1])
if len > max + tonumber(ARGV[5]) then
  local old = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', len - max + 1)
  redis.call('XTRIM', KEYS[1], 'MINID', old[len - max + 1][1])
  redis.call('SET', KEYS[2], old[len - max][1])
end
return id
`;

type StreamEntry = [id: string, fields: string[]];

export interface RedisBrokerOptions {
  url: string;
  historyMaxLen: number;
  commandTimeoutMs: number;
  /** A room's keys expire after this long without a write (ms); 0: never. */
  idleTtlMs?: number;
  keyPrefix?: string;
  /** Connection errors (ioredis reconnects by itself); for logs and metrics. */
  onError?: (err: Error) => void;
}

/**
 * The broker of a replicated deployment: pub/sub on a separate subscriber
 * connection (one channel per room this process has members in), history in
 * a capped stream per room.
 */
export class RedisBroker implements Broker {
  readonly keys: RedisKeys;
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly events = new EventEmitter();
  private handler: DeliveryHandler = () => {};
  private userHandler: UserDeliveryHandler = () => {};
  /** Rooms the node wants; restored by hand after a reconnect (autoResubscribe is off). */
  private readonly wanted = new Set<string>();
  /** Users whose addressed frames the node wants; restored likewise. */
  private readonly wantedUsers = new Set<string>();
  private wasDown = false;
  private closed = false;

  constructor(private readonly options: RedisBrokerOptions) {
    this.keys = new RedisKeys(options.keyPrefix);
    this.pub = connectRedis(options.url, { commandTimeout: options.commandTimeoutMs }) ;
    this.pub.defineCommand('roomcastPublish', { numberOfKeys: 5, lua: PUBLISH_SCRIPT });
    this.sub = connectRedis(options.url, { autoResubscribe: false, commandTimeout: options.commandTimeoutMs });
    this.sub.on('message', (channel: string, payload: string) => this.receive(channel, payload));
    for (const redis of [this.pub, this.sub]) {
      redis.on('ready', () => this.onConnectionReady());
      redis.on('close', () => this.onConnectionLost());
      // ioredis reconnects by itself. Without a listener an 'error' event would crash the process.
      redis.on('error', (err: Error) => options.onError?.(err));
    }
  }

  /** The command connection, shared with the Redis presence manager. */
  get client(): Redis {
    return this.pub;
  }

  onDelivery(handler: DeliveryHandler): void {
    this.handler = handler;
  }

  on(event: BrokerEvent, listener: () => void): void {
    this.events.on(event, listener);
  }

  async subscribe(room: string): Promise<void> {
    this.wanted.add(room);
    try {
      await this.sub.subscribe(this.keys.channel(room));
    } catch (err) {
      this.wanted.delete(room);
      throw err;
    }
  }

  async unsubscribe(room: string): Promise<void> {
    this.wanted.delete(room);
    // While disconnected there is nothing to undo: Redis dropped the subscription with the connection.
    if (this.sub.status === 'ready') await this.sub.unsubscribe(this.keys.channel(room));
  }

  onUserDelivery(handler: UserDeliveryHandler): void {
    this.userHandler = handler;
  }

  async subscribeUser(userId: string): Promise<void> {
    this.wantedUsers.add(userId);
    try {
      await this.sub.subscribe(this.keys.userChannel(userId));
    } catch (err) {
      this.wantedUsers.delete(userId);
      throw err;
    }
  }

  async unsubscribeUser(userId: string): Promise<void> {
    this.wantedUsers.delete(userId);
    if (this.sub.status === 'ready') await this.sub.unsubscribe(this.keys.userChannel(userId));
  }

  async publishToUser(userId: string, frame: string): Promise<void> {
    await this.pub.publish(this.keys.userChannel(userId), frame);
  }

  async publish(draft: MessageDraft): Promise<StoredMessage> {
    const body = messageBody(draft);
    const head = `{"type":"message","room":"${draft.room}","id":"`;
    const { historyMaxLen } = this.options;
    const { room } = draft;
    const id = await this.pub.roomcastPublish(
      this.keys.log(room),
      this.keys.trimmed(room),
      this.keys.meta(room),
      this.keys.members(room),
      this.keys.names(room),
      this.keys.channel(room),
      body,
      head,
      historyMaxLen,
      trimSlack(historyMaxLen),
      this.options.idleTtlMs ?? 0,
    );
    return { id, frame: messageFrame(draft.room, id, body) };
  }

  async publishEvent(room: string, frame: string, skip = ''): Promise<void> {
    await this.pub.publish(this.keys.channel(room), encodeEvent(frame, skip));
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

  isReady(): boolean {
    return this.pub.status === 'ready' && this.sub.status === 'ready';
  }

  /** Resolves once both connections are up; rejects after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<void> {
    await Promise.all([waitReady(this.pub, timeoutMs), waitReady(this.sub, timeoutMs)]);
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    this.pub.disconnect();
    this.sub.disconnect();
  }

  private toMessages(room: string, entries: StreamEntry[]): StoredMessage[] {
    return entries.map(([id, fields]) => ({ id, frame: messageFrame(room, id, fields[1] ?? '') }));
  }

  private receive(channel: string, payload: string): void {
    const userId = this.keys.userOf(channel);
    if (userId !== undefined) {
      if (this.wantedUsers.has(userId)) this.userHandler(userId, payload);
      return;
    }
    const room = this.keys.roomOf(channel);
    if (room === undefined || !this.wanted.has(room)) return;
    const delivery = decodePayload(room, payload);
    if (delivery) this.handler(delivery);
  }

  private onConnectionLost(): void {
    if (this.closed || this.wasDown) return;
    this.wasDown = true;
    this.events.emit('down');
  }

  private onConnectionReady(): void {
    if (!this.isReady() || !this.wasDown || this.closed) return;
    this.wasDown = false;
    void this.restoreSubscriptions();
  }

  /**
   * After a reconnect, subscribe again to every wanted room, then tell the
   * node to fill the gap from history. The PING makes sure the SUBSCRIBE took
   * effect before anyone reads history, so nothing falls between the two.
   */
  private async restoreSubscriptions(): Promise<void> {
    try {
      const channels = [...this.wanted].map((room) => this.keys.channel(room));
      for (const userId of this.wantedUsers) channels.push(this.keys.userChannel(userId));
      if (channels.length > 0) await this.sub.subscribe(...channels);
      await this.sub.ping();
      this.events.emit('up');
      this.events.emit('resync');
    } catch {
      // The connection dropped again; the next 'ready' retries.
      this.wasDown = true;
    }
  }
}
