import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { withTimeout } from './connect.js';

/**
 * Sharded pub/sub subscriptions (SSUBSCRIBE), the same in every Redis mode.
 * A subscription can lapse (a reconnect, a failover, a slot moving to
 * another shard): whatever was published meanwhile is lost to us, so the
 * subscriber says which channels are live again, and the broker fills each
 * one's gap from its room's log. Per channel, never a global resync.
 *
 * Events: 'message' (channel, payload), 'lapsed' (channels: string[], said
 * the moment they are lost, before any message that may follow their gap),
 * 'restored' (channels: string[]), 'down' (a connection was lost), 'up'
 * (every connection is back).
 */
export interface ShardSubscriber extends EventEmitter {
  /** Resolves once Redis confirmed the subscription. Rejects (fast) while unreachable. */
  subscribe(channel: string): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
  isReady(): boolean;
  /**
   * A ready connection to the server that carries this channel's slot, for
   * commands of that slot (RESP3 lets one connection subscribe and run
   * commands), when the subscriber has its own; undefined otherwise.
   */
  commandsFor?(channel: string): Redis | undefined;
  /** A timed round trip on every subscriber connection. */
  ping(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** How soon a restore that failed on a live connection is tried again. */
export const RESTORE_RETRY_MS = 500;

/** Subscriptions on one connection: a single Redis, or the master Sentinel points to. */
export class ServerSubscriber extends EventEmitter implements ShardSubscriber {
  private readonly wanted = new Set<string>();
  private down = false;
  private closed = false;

  constructor(private readonly redis: Redis) {
    super();
    redis.on('smessage', (channel: string, payload: string) => this.emit('message', channel, payload));
    redis.on('close', () => {
      if (this.closed || this.down) return;
      this.down = true;
      this.emit('lapsed', [...this.wanted]);
      this.emit('down');
    });
    redis.on('ready', () => {
      if (this.down && !this.closed) void this.restore();
    });
  }

  async subscribe(channel: string): Promise<void> {
    this.wanted.add(channel);
    try {
      await this.redis.ssubscribe(channel);
    } catch (err) {
      this.wanted.delete(channel);
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    this.wanted.delete(channel);
    // While disconnected there is nothing to undo: Redis dropped the subscription with the connection.
    if (this.redis.status === 'ready') await this.redis.sunsubscribe(channel);
  }

  isReady(): boolean {
    return this.redis.status === 'ready' && !this.down;
  }

  async ping(timeoutMs: number): Promise<void> {
    await withTimeout(this.redis.ping(), timeoutMs, 'PING on the subscriber connection');
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.redis.quit().catch(() => undefined);
    this.redis.disconnect();
  }

  /**
   * After a reconnect: subscribe again to every wanted channel (autoResubscribe
   * is off, so this is the only place it happens), then tell which channels
   * have a gap. The PING makes sure the subscriptions took effect before
   * anyone reads a log to fill the gap, so nothing falls between the two.
   */
  private async restore(): Promise<void> {
    try {
      const channels = [...this.wanted];
      // One SSUBSCRIBE per channel (one may only name channels of one slot), pipelined.
      await Promise.all(channels.map((channel) => this.redis.ssubscribe(channel)));
      await this.redis.ping();
      this.down = false;
      this.emit('up');
      if (channels.length > 0) this.emit('restored', channels);
    } catch {
      // Dropped again (the next 'ready' retries), or a command timed out on a live connection: try again soon.
      setTimeout(() => {
        if (this.down && !this.closed && this.redis.status === 'ready') void this.restore();
      }, RESTORE_RETRY_MS).unref();
    }
  }
}
