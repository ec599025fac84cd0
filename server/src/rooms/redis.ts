import type { RedisClient } from '../redis/connect.js';
import { ROLES, type Role, type RoomInfo, type User } from '../protocol.js';
import '../redis/commands.js';
import { encodeRemoval, type RedisKeys } from '../redis/keys.js';
import { removedFrame, type CreateOutcome, type CreateRoom, type MemberRecord, type RoomStore, type RoomView } from './store.js';

/*
 * Per room (all under the room's {room} hash tag, one Cluster slot):
 *   meta     hash: private 1|0, owner <id>, dm "<a>\t<b>"
 *   members  hash: id → role
 *   names    hash: id → display name
 * Per user (its own slot), written after the room's script:
 *   user rooms  hash: room → "role \t private \t peer"   (a listing; verified on read)
 *   created     counter of rooms the user created, expiring with the idle TTL
 */

/** Refreshes the idle expiry of every key given; ttl 0 means never expire. */
const EXPIRE = `
local function touch(ttl, ...)
  if tonumber(ttl) > 0 then
    for _, key in ipairs({...}) do redis.call('PEXPIRE', key, ttl) end
  end
end
`;

/** KEYS: meta, members, names, log, presence users. ARGV: private, ownerId, ownerName, ttl, members... */
const CREATE_SCRIPT = `${EXPIRE}
if redis.call('EXISTS', KEYS[1], KEYS[4], KEYS[5]) > 0 then return 0 end
redis.call('HSET', KEYS[1], 'private', ARGV[1], 'owner', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[2], 'owner')
redis.call('HSET', KEYS[3], ARGV[2], ARGV[3])
for i = 5, #ARGV do
  if ARGV[i] ~= ARGV[2] then redis.call('HSET', KEYS[2], ARGV[i], 'member') end
end
touch(ARGV[4], KEYS[1], KEYS[2], KEYS[3])
return 1
`;

/** KEYS: meta, members, names. ARGV: a, aName, b, ttl. Returns 1 when the DM was created now. */
const DM_SCRIPT = `${EXPIRE}
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'private', '1', 'dm', ARGV[1] .. '\\t' .. ARGV[3])
  redis.call('HSET', KEYS[2], ARGV[3], 'member')
  created = 1
end
redis.call('HSET', KEYS[2], ARGV[1], 'member')
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
touch(ARGV[4], KEYS[1], KEYS[2], KEYS[3])
return created
`;

/**
 * KEYS: meta, members, names. ARGV: id, role, ttl. Returns the previous role, ''
 * when added now, 'none' when the room has no record. The owner's role is
 * never changed here: the script refuses it atomically ('owner').
 */
const SET_ROLE_SCRIPT = `${EXPIRE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 'none' end
local previous = redis.call('HGET', KEYS[2], ARGV[1])
if previous == 'owner' then return 'owner' end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
touch(ARGV[3], KEYS[1], KEYS[2], KEYS[3])
return previous or ''
`;

/** KEYS: meta, members, names. ARGV: id, name, ttl. Only for a room with a record (no key without expiry). */
const NAME_SCRIPT = `${EXPIRE}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
touch(ARGV[3], KEYS[1], KEYS[2], KEYS[3])
return 1
`;

/**
 * KEYS: meta, members, names. ARGV: id, channel, removal payload. Deletes
 * the membership and publishes the removal on the room's channel in the same
 * step, so it is ordered with the room's messages. Returns 1 if removed.
 */
const REMOVE_SCRIPT = `
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then redis.call('HDEL', KEYS[1], 'owner') end
redis.call('SPUBLISH', ARGV[2], ARGV[3])
return 1
`;

export interface RedisRoomStoreOptions {
  redis: RedisClient;
  keys: RedisKeys;
  /** Idle expiry of a room's keys, ms; 0: never. */
  idleTtlMs: number;
}

export class RedisRoomStore implements RoomStore {
  private readonly redis: RedisClient;
  private readonly keys: RedisKeys;

  constructor(private readonly options: RedisRoomStoreOptions) {
    this.redis = options.redis;
    this.keys = options.keys;
    const define = (name: string, numberOfKeys: number, lua: string) => {
      if (!(name in this.redis)) this.redis.defineCommand(name, { numberOfKeys, lua });
    };
    define('roomCreate', 5, CREATE_SCRIPT);
    define('roomDm', 3, DM_SCRIPT);
    define('roomSetRole', 3, SET_ROLE_SCRIPT);
    define('roomName', 3, NAME_SCRIPT);
    define('roomRemove', 3, REMOVE_SCRIPT);
  }

  async view(room: string, userId: string): Promise<RoomView> {
    const [meta, role] = await Promise.all([this.redis.hgetall(this.keys.meta(room)), this.redis.hget(this.keys.members(room), userId)]);
    if (meta.private === undefined) return { exists: false, private: false, role: null };
    const view: RoomView = { exists: true, private: meta.private === '1', role: asRole(role) };
    if (meta.owner) view.owner = meta.owner;
    if (meta.dm) view.peer = peerOf(meta.dm, userId);
    return view;
  }

  async create(input: CreateRoom): Promise<CreateOutcome> {
    const { room, owner } = input;
    const created = await this.redis.roomCreate(
      this.keys.meta(room),
      this.keys.members(room),
      this.keys.names(room),
      this.keys.log(room),
      this.keys.presenceUsers(room),
      input.private ? '1' : '0',
      owner.id,
      owner.name,
      String(this.options.idleTtlMs),
      ...input.members,
    );
    if (created !== 1) return 'exists';
    await this.index(owner.id, room, 'owner', input.private);
    await Promise.all(input.members.filter((id) => id !== owner.id).map((id) => this.index(id, room, 'member', input.private)));
    return 'created';
  }

  async ensureDm(room: string, a: User, b: string): Promise<boolean> {
    const created = await this.redis.roomDm(this.keys.meta(room), this.keys.members(room), this.keys.names(room), a.id, a.name, b, String(this.options.idleTtlMs));
    await this.index(a.id, room, 'member', true, b);
    if (created === 1) await this.index(b, room, 'member', true, a.id);
    return created === 1;
  }

  async setRole(room: string, userId: string, role: Role): Promise<Role | null> {
    const previous = await this.redis.roomSetRole(
      this.keys.meta(room),
      this.keys.members(room),
      this.keys.names(room),
      userId,
      role,
      String(this.options.idleTtlMs),
    );
    if (previous === 'none') throw new Error(`room ${room} has no record`);
    if (previous === 'owner') return 'owner';
    const meta = await this.redis.hmget(this.keys.meta(room), 'private', 'dm');
    await this.index(userId, room, role, meta[0] === '1', meta[1] ? peerOf(meta[1], userId) : undefined);
    return asRole(previous);
  }

  async remove(room: string, userId: string): Promise<boolean> {
    const removed = await this.redis.roomRemove(
      this.keys.meta(room),
      this.keys.members(room),
      this.keys.names(room),
      userId,
      this.keys.channel(room),
      encodeRemoval(userId, removedFrame(room)),
    );
    await this.redis.hdel(this.keys.userRooms(userId), room);
    return removed === 1;
  }

  async members(room: string): Promise<MemberRecord[]> {
    const [roles, names] = await Promise.all([this.redis.hgetall(this.keys.members(room)), this.redis.hgetall(this.keys.names(room))]);
    return Object.entries(roles).map(([id, role]) => {
      const name = names[id];
      return name === undefined ? { id, role: role as Role } : { id, role: role as Role, name };
    });
  }

  async rememberName(room: string, user: User): Promise<void> {
    await this.redis.roomName(this.keys.meta(room), this.keys.members(room), this.keys.names(room), user.id, user.name, String(this.options.idleTtlMs));
  }

  async roomsOf(userId: string): Promise<RoomInfo[]> {
    const index = await this.redis.hgetall(this.keys.userRooms(userId));
    const rooms = Object.keys(index);
    // The index is written after each room's own script: check it against the rooms, drop what is stale.
    const roles = await Promise.all(rooms.map((room) => this.redis.hget(this.keys.members(room), userId)));
    const out: RoomInfo[] = [];
    const stale: string[] = [];
    rooms.forEach((room, i) => {
      const role = asRole(roles[i] ?? null);
      if (!role) return void stale.push(room);
      const [, isPrivate, peer] = (index[room] ?? '').split('\t');
      const info: RoomInfo = { name: room, private: isPrivate === '1', role };
      if (peer) info.peer = peer;
      out.push(info);
    });
    if (stale.length > 0) await this.redis.hdel(this.keys.userRooms(userId), ...stale);
    return out;
  }

  async countCreation(userId: string, max: number): Promise<boolean> {
    const key = this.keys.userCreated(userId);
    const count = await this.redis.incr(key);
    if (this.options.idleTtlMs > 0) await this.redis.pexpire(key, this.options.idleTtlMs);
    if (count <= max) return true;
    await this.redis.decr(key);
    return false;
  }

  async uncountCreation(userId: string): Promise<void> {
    await this.redis.decr(this.keys.userCreated(userId));
  }

  private async index(userId: string, room: string, role: Role, isPrivate: boolean, peer = ''): Promise<void> {
    await this.redis.hset(this.keys.userRooms(userId), room, `${role}\t${isPrivate ? '1' : '0'}\t${peer}`);
  }
}

function asRole(value: string | null): Role | null {
  return value !== null && (ROLES as readonly string[]).includes(value) ? (value as Role) : null;
}

/** The other id of a DM's "a \t b". */
function peerOf(dm: string, userId: string): string | undefined {
  const [a, b] = dm.split('\t');
  return a === userId ? b : b === userId ? a : undefined;
}
