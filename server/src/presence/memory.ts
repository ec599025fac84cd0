import type { Broker } from '../broker/broker.js';
import type { User } from '../protocol.js';
import { presenceFrame, type Member, type PresenceManager } from './presence.js';

interface RoomUser {
  user: User;
  connections: Set<string>;
}

/** Presence of the embedded single-process mode; diffs go out through the broker. */
export class MemoryPresence implements PresenceManager {
  /** room → user id → the user's connections in the room */
  private readonly rooms = new Map<string, Map<string, RoomUser>>();
  /** room → connection id → user id */
  private readonly connections = new Map<string, Map<string, string>>();

  constructor(private readonly broker: Broker) {}

  async join(room: string, member: Member): Promise<User[]> {
    const users = mapIn(this.rooms, room);
    const connections = mapIn(this.connections, room);
    if (!connections.has(member.connectionId)) {
      connections.set(member.connectionId, member.user.id);
      const entry = users.get(member.user.id);
      if (entry) {
        entry.connections.add(member.connectionId);
      } else {
        users.set(member.user.id, { user: member.user, connections: new Set([member.connectionId]) });
        await this.broker.publishEvent(room, presenceFrame(room, [member.user], []), member.connectionId);
      }
    }
    return this.list(room);
  }

  async leave(room: string, connectionId: string): Promise<void> {
    const connections = this.connections.get(room);
    const userId = connections?.get(connectionId);
    if (!connections || userId === undefined) return;
    connections.delete(connectionId);
    const users = this.rooms.get(room)!;
    const entry = users.get(userId)!;
    entry.connections.delete(connectionId);
    if (entry.connections.size === 0) {
      users.delete(userId);
      await this.broker.publishEvent(room, presenceFrame(room, [], [entry.user]));
    }
    if (connections.size === 0) {
      this.connections.delete(room);
      this.rooms.delete(room);
    }
  }

  async list(room: string): Promise<User[]> {
    return [...(this.rooms.get(room)?.values() ?? [])].map((entry) => entry.user);
  }

  /** True while anyone is present in the room. */
  hasUsers(room: string): boolean {
    return (this.rooms.get(room)?.size ?? 0) > 0;
  }

  async start(): Promise<void> {}

  async reassert(): Promise<void> {
    // Nothing is ever lost in one process.
  }

  async close(): Promise<void> {
    this.rooms.clear();
    this.connections.clear();
  }
}

function mapIn<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let inner = outer.get(key);
  if (!inner) outer.set(key, (inner = new Map()));
  return inner;
}
