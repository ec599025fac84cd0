import type { PresenceFrame, User } from '../protocol.js';

export interface Member {
  connectionId: string;
  user: User;
}

/**
 * Who is in which room, across every replica.
 *
 * Contract (both implementations pass presence.contract.ts):
 * - A user is present in a room while any of their connections has joined it.
 * - `join` returns the room's users, the joiner included. When this is the
 *   user's first connection in the room it publishes a `presence` diff with
 *   `joined: [user]` to the room, skipping the joining connection.
 * - `leave` publishes `left: [user]` when it removes the user's last connection.
 *   Leaving twice, or leaving a connection that never joined, is a no-op. A
 *   `leave` that fails (store unreachable) rejects and is retried by the
 *   manager until it goes through: the member never stays behind.
 * - A diff is published in the same atomic step as the change, so every
 *   replica sees joins and leaves of one user in the order they happened.
 * - Members of a replica that stops heartbeating are removed by the others
 *   within `ttlMs + sweepMs`, with `left` diffs published for them.
 */
export interface PresenceManager {
  join(room: string, member: Member): Promise<User[]>;
  leave(room: string, connectionId: string): Promise<void>;
  list(room: string): Promise<User[]>;
  /**
   * Writes every local member again (after a lapse: the store may have lost
   * them, or others reaped this node). A user who was missing is published as
   * `joined` to every socket of the room, their own included.
   */
  reassert(): Promise<void>;
  /** Starts heartbeating this node's members and sweeping dead nodes. */
  start(): Promise<void>;
  /** Removes every member of this node (graceful shutdown), then stops timers. */
  close(): Promise<void>;
}

export function presenceFrame(room: string, joined: User[], left: User[]): string {
  const frame: PresenceFrame = { type: 'presence', room, joined, left };
  return JSON.stringify(frame);
}
