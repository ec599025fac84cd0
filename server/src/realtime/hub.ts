import type { Delivery } from '../broker/broker.js';
import type { Connection } from './connection.js';
import { textFrame } from './framing.js';
import { compareIds } from '../protocol.js';

const EMPTY: ReadonlySet<Connection> = new Set();

/**
 * This process's connections, indexed by room and by user. Fan-out happens here: a
 * delivery is turned into one WebSocket frame and written to every local member.
 */
export class Hub {
  readonly connections = new Map<string, Connection>();
  private readonly rooms = new Map<string, Set<Connection>>();
  /** user id → that user's local connections (addressed delivery). */
  private readonly users = new Map<string, Set<Connection>>();

  /** Returns true when the connection is its user's first local one. */
  add(connection: Connection): boolean {
    this.connections.set(connection.id, connection);
    let own = this.users.get(connection.user.id);
    const first = !own;
    if (!own) this.users.set(connection.user.id, (own = new Set()));
    own.add(connection);
    return first;
  }

  /** Returns true when it was its user's last local connection. */
  remove(connection: Connection): boolean {
    if (!this.connections.delete(connection.id)) return false;
    const own = this.users.get(connection.user.id);
    own?.delete(connection);
    if (own?.size !== 0) return false;
    this.users.delete(connection.user.id);
    return true;
  }

  /** The user's local connections. */
  connectionsOf(userId: string): ReadonlySet<Connection> {
    return this.users.get(userId) ?? EMPTY;
  }

  /** The room's local members. */
  membersOf(room: string): ReadonlySet<Connection> {
    return this.rooms.get(room) ?? EMPTY;
  }

  /** Sends a frame to every local socket of one user; returns how many got it. */
  sendToUser(userId: string, frame: string): number {
    let sent = 0;
    for (const connection of this.connectionsOf(userId)) if (connection.sendRaw(frame)) sent++;
    return sent;
  }

  /** Returns true when the connection is the room's first local member. */
  addMember(room: string, connection: Connection): boolean {
    let members = this.rooms.get(room);
    const first = !members;
    if (!members) this.rooms.set(room, (members = new Set()));
    members.add(connection);
    return first;
  }

  /** Returns true when the room has no local member left. */
  removeMember(room: string, connection: Connection): boolean {
    const members = this.rooms.get(room);
    if (!members) return false;
    members.delete(connection);
    if (members.size > 0) return false;
    this.rooms.delete(room);
    return true;
  }

  hasMembers(room: string): boolean {
    return this.rooms.has(room);
  }

  get roomCount(): number {
    return this.rooms.size;
  }

  /** Sends the delivery to the room's local members; returns how many got it. */
  broadcast(delivery: Delivery): number {
    const members = this.rooms.get(delivery.room);
    if (!members) return 0;
    let payload: Buffer | undefined;
    let frame: Buffer | undefined;
    let sent = 0;
    for (const connection of members) {
      if (connection.id === delivery.skip) continue;
      const membership = connection.rooms.get(delivery.room);
      if (membership?.pending) {
        membership.pending.push(delivery);
        continue;
      }
      if (membership?.replayedUpTo !== undefined && delivery.id !== undefined) {
        if (compareIds(delivery.id, membership.replayedUpTo) <= 0) continue;
        membership.replayedUpTo = undefined;
      }
      payload ??= Buffer.from(delivery.frame);
      frame ??= textFrame(payload);
      if (connection.sendFramed(frame, payload)) sent++;
    }
    return sent;
  }
}
