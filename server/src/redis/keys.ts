/**
 * Redis key and channel names, and the pub/sub envelope, shared by the Redis
 * broker and the Redis presence manager (their Lua scripts publish to the
 * same channels).
 *
 * Every key of one room carries the room in a hash tag `{room}`, so a room's
 * keys live in one Redis Cluster slot and its scripts stay single-slot.
 */
import type { Delivery } from '../broker/broker.js';

export class RedisKeys {
  constructor(readonly prefix = 'rc') {}

  channel(room: string): string {
    return `${this.prefix}:{${room}}`;
  }
  /** The room's history (a stream). */
  log(room: string): string {
    return `${this.prefix}:{${room}}:log`;
  }
  /** Id of the newest message trimmed from the room's history. */
  trimmed(room: string): string {
    return `${this.prefix}:{${room}}:trimmed`;
  }
  /** The name of the current incarnation of the room's log (contract v2, C). */
  epoch(room: string): string {
    return `${this.prefix}:{${room}}:epoch`;
  }
  /** The newest id a replica saw that the log was found to have lost (see CHECK_LOG_SCRIPT). */
  lost(room: string): string {
    return `${this.prefix}:{${room}}:lost`;
  }
  /** A send's idempotency key → the id it was stored under (expires after a few minutes). */
  sent(room: string, key: string): string {
    return `${this.prefix}:{${room}}:sent:${key}`;
  }
  /** Presence: connection id → `userId \t nodeId \t expiresAtMs`. */
  presenceConnections(room: string): string {
    return `${this.prefix}:{${room}}:pc`;
  }
  /** Presence: user id → `count \t name`. */
  presenceUsers(room: string): string {
    return `${this.prefix}:{${room}}:pu`;
  }
  /** Room record: private (1/0), owner, dm ("a \t b"). */
  meta(room: string): string {
    return `${this.prefix}:{${room}}:meta`;
  }
  /** Member id → role. */
  members(room: string): string {
    return `${this.prefix}:{${room}}:members`;
  }
  /** Member id → display name, as last seen. */
  names(room: string): string {
    return `${this.prefix}:{${room}}:names`;
  }
  /** The rooms a user holds a role in: room → "role \t private \t peer". Its own slot. */
  userRooms(userId: string): string {
    return `${this.prefix}:user:{${userId}}:rooms`;
  }
  /** Rooms a user created within the idle-expiry window. */
  userCreated(userId: string): string {
    return `${this.prefix}:user:{${userId}}:created`;
  }
  /** Addressed delivery to one user's sockets, on whichever replicas hold them. */
  userChannel(userId: string): string {
    return `${this.prefix}:user:{${userId}}`;
  }
  /** A rate-limit bucket (kind: write, login). */
  rateBucket(kind: string, key: string): string {
    return `${this.prefix}:rl:${kind}:{${key}}`;
  }
  /** Node id → last heartbeat (ms). */
  nodes(): string {
    return `${this.prefix}:nodes`;
  }
  /** Rooms in which a node has (or had) members, for cleaning up after it. */
  nodeRooms(nodeId: string): string {
    return `${this.prefix}:node:${nodeId}:rooms`;
  }

  /** Room name from a channel name; undefined for channels that are not ours. */
  roomOf(channel: string): string | undefined {
    const head = `${this.prefix}:{`;
    if (!channel.startsWith(head) || !channel.endsWith('}')) return undefined;
    return channel.slice(head.length, -1);
  }

  /** User id from a user channel name; undefined for other channels. */
  userOf(channel: string): string | undefined {
    const head = `${this.prefix}:user:{`;
    if (!channel.startsWith(head) || !channel.endsWith('}')) return undefined;
    return channel.slice(head.length, -1);
  }
}

/*
 * Pub/sub payloads are `<kind><meta>\n<frame>`:
 *   m<id>\n<frame>     a stored chat message and its id
 *   e<skip>\n<frame>   an ephemeral frame (presence, typing); skip is a
 *                      connection id that must not receive it, or empty
 *   r<user>\n<frame>   the user was removed from the room: only that user's
 *                      sockets get the frame, then leave the room
 * The frame after the newline is sent to sockets untouched.
 */
export function encodeEvent(frame: string, skip = ''): string {
  return `e${skip}\n${frame}`;
}

/** The payload of a removal (published by the room store's script). */
export function encodeRemoval(userId: string, frame: string): string {
  return `r${userId}\n${frame}`;
}

export function decodePayload(room: string, payload: string): Delivery | undefined {
  const newline = payload.indexOf('\n');
  if (newline < 1) return undefined;
  const meta = payload.slice(1, newline);
  const frame = payload.slice(newline + 1);
  switch (payload[0]) {
    case 'm':
      return { room, frame, id: meta };
    case 'e':
      return meta === '' ? { room, frame } : { room, frame, skip: meta };
    case 'r':
      return { room, frame, removed: meta };
    default:
      return undefined;
  }
}
