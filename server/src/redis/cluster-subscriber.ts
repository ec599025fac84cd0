import { EventEmitter } from 'node:events';
import calculateSlot from 'cluster-key-slot';
import { Redis, type Cluster } from 'ioredis';
import { withTimeout } from './connect.js';
import { RESTORE_RETRY_MS, type ShardSubscriber } from './subscriber.js';

/** One subscriber connection to one master, and the channels it carries for us. */
interface Shard {
  redis: Redis;
  channels: Set<string>;
  /** Lost since its last 'ready': its channels have a gap. */
  down: boolean;
}

/**
 * Sharded pub/sub on a Redis Cluster: a subscriber connection per master
 * that owns one of our channels' slots (SPUBLISH is delivered by the shard
 * that owns the slot only, so a channel must be subscribed there).
 *
 * We keep these connections ourselves, rather than ioredis's
 * `shardedSubscribers`, to know exactly which channels lapsed: when a shard's
 * connection drops, its channels are restored once it is back; when the
 * topology changes (a failover, a slot migration), each channel whose slot
 * moved is subscribed on its new master. Either way only those channels are
 * reported 'restored', so only their rooms fill a gap from their logs.
 */
export class ClusterSubscriber extends EventEmitter implements ShardSubscriber {
  private readonly shards = new Map<string, Shard>();
  /** channel → the master ("host:port") it is subscribed on, and its slot (hashed once). */
  private readonly subscribed = new Map<string, { owner: string; slot: number }>();
  private closed = false;
  private reconciling: Promise<void> = Promise.resolve();

  constructor(
    private readonly cluster: Cluster,
    /** Makes a connection to one master (same credentials and TLS as the cluster's). */
    private readonly connect: (host: string, port: number) => Redis,
  ) {
    super();
    // After every topology refresh (periodic, or after a MOVED or a lost node): move channels whose slot moved.
    cluster.on('refresh', () => this.reconcileSoon());
  }

  async subscribe(channel: string): Promise<void> {
    const slot = calculateSlot(channel);
    const owner = this.cluster.slots[slot]?.[0];
    if (!owner) throw new Error(`no master known for the slot of ${channel} (the cluster is not ready)`);
    const shard = this.shardFor(owner);
    this.subscribed.set(channel, { owner, slot });
    shard.channels.add(channel);
    try {
      await shard.redis.ssubscribe(channel);
    } catch (err) {
      if (this.ownerOf(channel) === owner) {
        this.subscribed.delete(channel);
        shard.channels.delete(channel);
      }
      // A MOVED answer: our map is stale. Refresh it for the next attempt.
      this.cluster.refreshSlotsCache();
      throw err;
    }
  }

  async unsubscribe(channel: string): Promise<void> {
    const owner = this.ownerOf(channel);
    this.subscribed.delete(channel);
    const shard = owner === undefined ? undefined : this.shards.get(owner);
    if (!shard) return;
    shard.channels.delete(channel);
    if (shard.redis.status === 'ready') await shard.redis.sunsubscribe(channel);
    this.dropIfIdle(owner!);
  }

  commandsFor(channel: string): Redis | undefined {
    const owner = this.ownerOf(channel);
    const shard = owner === undefined ? undefined : this.shards.get(owner);
    return shard && !shard.down && shard.redis.status === 'ready' ? shard.redis : undefined;
  }

  isReady(): boolean {
    if (this.cluster.status !== 'ready') return false;
    for (const shard of this.shards.values()) if (shard.channels.size > 0 && (shard.down || shard.redis.status !== 'ready')) return false;
    return true;
  }

  async ping(timeoutMs: number): Promise<void> {
    const busy = [...this.shards.values()].filter((shard) => shard.channels.size > 0);
    await Promise.all(busy.map((shard) => withTimeout(shard.redis.ping(), timeoutMs, 'PING on a shard subscriber')));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.shards.values()].map((shard) => shard.redis.quit()));
    for (const shard of this.shards.values()) shard.redis.disconnect();
    this.shards.clear();
  }

  /** The master a subscribed channel is subscribed on. */
  private ownerOf(channel: string): string | undefined {
    return this.subscribed.get(channel)?.owner;
  }

  private shardFor(owner: string): Shard {
    let shard = this.shards.get(owner);
    if (shard) return shard;
    const colon = owner.lastIndexOf(':');
    const redis = this.connect(owner.slice(0, colon), Number(owner.slice(colon + 1)));
    const created: Shard = { redis, channels: new Set(), down: false };
    shard = created;
    redis.on('smessage', (channel: string, payload: string) => {
      // A channel that moved to another shard may still get a late message here: the new owner's copy counts.
      if (this.ownerOf(channel) === owner) this.emit('message', channel, payload);
    });
    redis.on('close', () => {
      if (this.closed || created.down) return;
      created.down = true;
      this.emit('lapsed', [...created.channels]);
      this.emit('down');
      // A master that went away may have failed over: ask the cluster now rather than at the next periodic refresh.
      this.cluster.refreshSlotsCache();
    });
    redis.on('ready', () => {
      if (created.down && !this.closed) void this.restoreShard(owner, created);
    });
    // Redis pushes an unasked SUNSUBSCRIBE when a slot leaves this master (ioredis says 'moved'):
    // refresh the slot map now, and the reconcile moves the channel to the slot's new master. Again
    // 0.5, 1 and 2 s later: the node asked may not have heard of the move yet (gossip).
    redis.on('moved', () => {
      this.cluster.refreshSlotsCache();
      for (const times of [1, 2, 4]) setTimeout(() => this.closed || this.cluster.refreshSlotsCache(), times * RESTORE_RETRY_MS).unref();
    });
    redis.on('error', () => undefined); // reconnects by itself; the cluster client reports errors
    this.shards.set(owner, created);
    return created;
  }

  /** A shard's connection is back: subscribe its channels again, then report their gap. */
  private async restoreShard(owner: string, shard: Shard): Promise<void> {
    const channels = [...shard.channels].filter((channel) => this.ownerOf(channel) === owner);
    try {
      await Promise.all(channels.map((channel) => shard.redis.ssubscribe(channel)));
      await shard.redis.ping();
      shard.down = false;
      if (this.isReady()) this.emit('up');
      if (channels.length > 0) this.emit('restored', channels);
    } catch {
      // Not its slots any more (MOVED), dropped again, or timed out: the topology refresh moves them,
      // and a live connection is tried again soon.
      this.cluster.refreshSlotsCache();
      this.retryRestore(owner, shard);
    }
  }

  private retryRestore(owner: string, shard: Shard): void {
    setTimeout(() => {
      if (shard.down && !this.closed && this.shards.get(owner) === shard && shard.redis.status === 'ready') void this.restoreShard(owner, shard);
    }, RESTORE_RETRY_MS).unref();
  }

  private reconcileSoon(): void {
    this.reconciling = this.reconciling.then(() => this.reconcile()).catch(() => undefined);
  }

  /** Moves every channel whose slot now has another master, and reports each moved channel's gap. */
  private async reconcile(): Promise<void> {
    if (this.closed) return;
    const moved: string[] = [];
    for (const [channel, { owner, slot }] of [...this.subscribed]) {
      const now = this.cluster.slots[slot]?.[0];
      if (!now || now === owner) continue;
      // From here until its restore, what arrives for it may follow a gap (published where we were not subscribed).
      this.emit('lapsed', [channel]);
      const old = this.shards.get(owner);
      old?.channels.delete(channel);
      if (old?.redis.status === 'ready') old.redis.sunsubscribe(channel).catch(() => undefined);
      this.dropIfIdle(owner);
      const shard = this.shardFor(now);
      this.subscribed.set(channel, { owner: now, slot });
      shard.channels.add(channel);
      try {
        await shard.redis.ssubscribe(channel);
        moved.push(channel);
      } catch {
        // Its connection is not ready yet (restoreShard reports it once it is), or was and timed out (retried soon).
        shard.down = true;
        this.retryRestore(now, shard);
      }
    }
    if (moved.length > 0) {
      await Promise.all([...new Set(moved.map((c) => this.ownerOf(c)!))].map((o) => this.shards.get(o)?.redis.ping()));
      this.emit('restored', moved);
    }
    for (const owner of [...this.shards.keys()]) this.dropIfIdle(owner);
    // A shard left down on a live connection (a restore that timed out) is tried again with each refresh.
    for (const [owner, shard] of this.shards) if (shard.down && shard.redis.status === 'ready') void this.restoreShard(owner, shard);
    if (this.isReady()) this.emit('up');
  }

  /** Closes a shard connection that carries none of our channels. */
  private dropIfIdle(owner: string): void {
    const shard = this.shards.get(owner);
    if (!shard || shard.channels.size > 0) return;
    this.shards.delete(owner);
    shard.redis.disconnect();
  }
}
