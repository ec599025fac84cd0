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
  /** Presence: connection id → `userId \t nodeId \t expiresAtMs`. */
  presenceConnections(room: string): string {
    return `${this.prefix}:{${room}}:pc`;
  }
  /** Presence: user id → `count \t name`. */
  presenceUsers(room: string): string {
    return `${this.prefix}:{${room}}:pu`;
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
}

/*
 * Pub/sub payloads are `<kind><meta>\n<frame>`:
 *   m<id>\n<frame>     a stored chat message and its id
 *   e<skip>\n<frame>   an ephemeral frame (presence, typing); skip is a
 *                      connection id that must not receive it, or empty
 * The frame after the newline is sent to sockets untouched.
 */
export function encodeEvent(frame: string, skip = ''): string {
  return `e${skip}\n${frame}`;
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
    default:
      return undefined;
  }
}
