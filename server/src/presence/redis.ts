import type { RedisClient } from '../redis/connect.js';
import type { User } from '../protocol.js';
import '../redis/commands.js';
import { RedisKeys, encodeEvent } from '../redis/keys.js';
import { presenceFrame, type Member, type PresenceManager } from './presence.js';
import { JOIN_SCRIPT, REMOVE_SCRIPT, BEAT_SCRIPT, DEAD_NODES_SCRIPT } from './scripts.js';

export interface RedisPresenceOptions {
  /** The command connection (shared with the Redis broker). */
  redis: RedisClient;
  keys: RedisKeys;
  nodeId: string;
  heartbeatMs: number;
  ttlMs: number;
  sweepMs: number;
  onError?: (err: unknown, during: string) => void;
}

/**
 * Presence across replicas. Each replica heartbeats itself and re-asserts
 * every local connection in one pipeline; the others remove the members of a
 * replica whose heartbeat stopped, and publish the `left` diffs.
 */
export class RedisPresence implements PresenceManager {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;
  /** room → connection id → user: what this replica re-asserts on each heartbeat. */
  private readonly local = new Map<string, Map<string, User>>();
  /**
   * room → connection ids that closed while Redis was unreachable. Nobody else
   * would ever remove them (this node is alive and keeps heartbeating), so
   * each heartbeat retries until Redis has them gone and `left` is published.
   */
  private readonly departed = new Map<string, Set<string>>();
  private timers: NodeJS.Timeout[] = [];
  /**
   * No sweeping before this time (ms). While Redis is down nobody can
   * heartbeat, so right after an outage every node looks dead: the others
   * get one TTL to beat again before anyone is reaped.
   */
  private sweepAfter = 0;
  /** The last heartbeat did not go through: Redis may have lost (or others reaped) our members meanwhile. */
  private beatFailed = false;

  constructor(private readonly options: RedisPresenceOptions) {
    this.keys = options.keys;
    this.redis = options.redis;
    const define = (name: string, numberOfKeys: number, lua: string) => {
      if (!(name in this.redis)) this.redis.defineCommand(name, { numberOfKeys, lua });
    };
    define('presenceJoin', 2, JOIN_SCRIPT);
    define('presenceRemove', 2, REMOVE_SCRIPT);
    define('presenceBeat', 1, BEAT_SCRIPT);
    define('presenceDeadNodes', 1, DEAD_NODES_SCRIPT);
  }

  async join(room: string, member: Member): Promise<User[]> {
    let members = this.local.get(room);
    if (!members) this.local.set(room, (members = new Map()));
    members.set(member.connectionId, member.user);
    // Two slots in a Redis Cluster, so two commands (sent together). The room list first: a crash
    // between the two leaves a room to sweep, never a member nobody would sweep.
    const [, result] = await Promise.all([
      this.redis.sadd(this.keys.nodeRooms(this.options.nodeId), room),
      this.redis.presenceJoin(...this.joinArgs(room, member.connectionId, member.user, member.connectionId)),
    ]);
    return parseUsers(result as string[]);
  }

  async leave(room: string, connectionId: string): Promise<void> {
    const members = this.local.get(room);
    if (!members?.delete(connectionId)) return;
    if (members.size === 0) this.local.delete(room);
    try {
      await this.remove(room, '', [connectionId]);
      // The node's room list names only rooms it has members in (the sweep of a dead node reads it).
      // Checked when sent: a join that came meanwhile has re-added the room, and keeps it.
      if (!this.local.has(room)) await this.redis.srem(this.keys.nodeRooms(this.options.nodeId), room);
    } catch (err) {
      let ids = this.departed.get(room);
      if (!ids) this.departed.set(room, (ids = new Set()));
      ids.add(connectionId);
      throw err;
    }
  }

  async list(room: string): Promise<User[]> {
    return parseUsers(await this.redis.hgetall(this.keys.presenceUsers(room)));
  }

  /** Removes what a previous process with this node id left behind, then starts the timers. */
  async start(): Promise<void> {
    await this.reapNode(this.options.nodeId);
    await this.heartbeat();
    const every = (ms: number, task: () => Promise<void>, name: string) => {
      const timer = setInterval(() => task().catch((err) => this.options.onError?.(err, name)), ms);
      timer.unref();
      this.timers.push(timer);
    };
    every(this.options.heartbeatMs, () => this.heartbeat(), 'presence heartbeat');
    every(this.options.sweepMs, () => this.sweep(), 'presence sweep');
  }

  /** Stops heartbeating without removing anything: what a crash looks like to the others. */
  abandon(): void {
    for (const timer of this.timers) clearInterval(timer);
    this.timers = [];
  }

  async close(): Promise<void> {
    this.abandon();
    const rooms = [...this.local];
    this.local.clear();
    const departed = [...this.departed];
    this.departed.clear();
    await Promise.allSettled([
      ...rooms.map(([room, members]) => this.remove(room, '', [...members.keys()])),
      ...departed.map(([room, ids]) => this.remove(room, '', [...ids])),
    ]);
    await Promise.all([this.redis.del(this.keys.nodeRooms(this.options.nodeId)), this.redis.hdel(this.keys.nodes(), this.options.nodeId)]);
  }

  /**
   * The node's own heartbeat, then the removals that failed during an
   * outage. Local members are written again only when Redis lost them: the
   * heartbeat found this node's entry gone (others took it for dead and
   * reaped it, or Redis lost its data), or the previous heartbeat failed (it
   * may have been reaped meanwhile). So a heartbeat costs O(1), not a
   * command per connection.
   */
  async heartbeat(): Promise<void> {
    let fresh: number;
    try {
      fresh = await this.redis.presenceBeat(this.keys.nodes(), this.options.nodeId);
    } catch (err) {
      this.beatFailed = true;
      this.heartbeatFailed(err);
    }
    const removals = [...this.departed].map(async ([room, ids]) => {
      const sent = [...ids];
      await this.remove(room, '', sent);
      // Went through: done for good.
      const pending = this.departed.get(room);
      for (const id of sent) pending?.delete(id);
      if (pending?.size === 0) this.departed.delete(room);
    });
    const results = await Promise.allSettled(removals);
    if (fresh === 1 || this.beatFailed) {
      this.beatFailed = false;
      await this.reassert();
    }
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Writes every local member again. A user who was missing is published as
   * `joined` to every socket of the room, their own included: they were
   * told they left when this node was reaped.
   */
  async reassert(): Promise<void> {
    const nodeRooms = this.keys.nodeRooms(this.options.nodeId);
    const writes: Promise<unknown>[] = [];
    for (const [room, members] of this.local) {
      writes.push(this.redis.sadd(nodeRooms, room));
      for (const [connectionId, user] of members) writes.push(this.redis.presenceJoin(...this.joinArgs(room, connectionId, user, undefined)));
    }
    const failed = (await Promise.allSettled(writes)).find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) {
      this.beatFailed = true; // try again with the next heartbeat
      throw failed.reason;
    }
  }

  /** Redis is (or just was) unreachable: nobody could heartbeat, so hold the sweep for one TTL. */
  private heartbeatFailed(err: unknown): never {
    this.sweepAfter = Date.now() + this.options.ttlMs;
    throw err;
  }

  /** Removes the members of every node that stopped heartbeating. */
  async sweep(): Promise<void> {
    if (Date.now() < this.sweepAfter) return;
    const dead = await this.redis.presenceDeadNodes(this.keys.nodes(), String(this.options.ttlMs));
    for (const nodeId of dead) {
      if (nodeId === this.options.nodeId) continue;
      await this.reapNode(nodeId);
      await Promise.all([this.redis.del(this.keys.nodeRooms(nodeId)), this.redis.hdel(this.keys.nodes(), nodeId)]);
    }
  }

  private async reapNode(nodeId: string): Promise<void> {
    const rooms = await this.redis.smembers(this.keys.nodeRooms(nodeId));
    for (const room of rooms) await this.remove(room, nodeId, []);
  }

  private remove(room: string, deadNode: string, connectionIds: string[]): Promise<number> {
    return this.redis.presenceRemove(...this.removeArgs(room, deadNode, connectionIds));
  }

  private removeArgs(room: string, deadNode: string, connectionIds: string[]): [string, string, ...string[]] {
    return [
      this.keys.presenceConnections(room),
      this.keys.presenceUsers(room),
      this.keys.channel(room),
      room,
      deadNode,
      ...connectionIds,
    ];
  }

  /**
   * `skip`: the joining connection, which learns the room's users from
   * `joined` instead of a diff (and gets the list back). Re-asserts pass none:
   * everyone, the member's own sockets included, hears that they are back.
   */
  private joinArgs(room: string, connectionId: string, user: User, skip: string | undefined): [string, string, ...string[]] {
    return [
      this.keys.presenceConnections(room),
      this.keys.presenceUsers(room),
      connectionId,
      user.id,
      user.name,
      this.options.nodeId,
      this.keys.channel(room),
      encodeEvent(presenceFrame(room, [user], []), skip),
      skip === undefined ? '0' : '1',
    ];
  }

}

/** HGETALL of the users hash, flat [id, "count\tname", ...], as users. */
function parseUsers(flat: string[] | Record<string, string>): User[] {
  const entries = Array.isArray(flat) ? pairs(flat) : Object.entries(flat);
  return entries.map(([id, value]) => ({ id, name: value.slice(value.indexOf('\t') + 1) }));
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
