import { createHash } from 'node:crypto';
import { DM_PREFIX, type Role, type RoomInfo, type User } from '../protocol.js';

/** What the store knows of one room, as seen by one user. */
export interface RoomView {
  /** False when the room has no record: a public room nobody created (v1 behaviour). */
  exists: boolean;
  private: boolean;
  /** Absent for rooms without an owner (DMs, records whose owner left). */
  owner?: string;
  /** The user's role, or null when not a member. */
  role: Role | null;
  /** For a DM: the other member's id (from the user's point of view). */
  peer?: string;
}

export interface MemberRecord {
  id: string;
  role: Role;
  /** The member's display name, when the store has seen it. */
  name?: string;
}

export interface CreateRoom {
  room: string;
  private: boolean;
  owner: User;
  /** Ids made `member`s (the owner is left out if listed). */
  members: string[];
}

export type CreateOutcome = 'created' | 'exists';

/**
 * Room records: visibility, owner, members and roles. Every key of a room
 * lives under the room's `{room}` hash tag (Redis Cluster: one slot), and a
 * per-user index lists the rooms a user holds a role in.
 *
 * Contract (both implementations pass store.contract.ts):
 * - `create` is atomic: it answers `exists` without changing anything when the
 *   room has a record, stored messages, or present users.
 * - `setRole` adds or updates; `remove` deletes the membership and tells every
 *   replica's sockets of that user in the room to leave it (a `removed`
 *   delivery on the room's channel, in order with the room's messages), in
 *   the same atomic step.
 * - Every write refreshes the room's idle expiry (when one is configured).
 */
export interface RoomStore {
  view(room: string, userId: string): Promise<RoomView>;
  create(input: CreateRoom): Promise<CreateOutcome>;
  /** Creates the DM of `a` and `b` if it has no record; ensures `a` is a member. True when created now. */
  ensureDm(room: string, a: User, b: string): Promise<boolean>;
  /** Returns the role the user had before (null: added now). */
  setRole(room: string, userId: string, role: Role): Promise<Role | null>;
  /** Returns false when the user was not a member. */
  remove(room: string, userId: string): Promise<boolean>;
  members(room: string): Promise<MemberRecord[]>;
  /** Remembers a member's display name (for member lists). */
  rememberName(room: string, user: User): Promise<void>;
  /** Rooms the user holds a role in. */
  roomsOf(userId: string): Promise<RoomInfo[]>;
  /**
   * Counts one more room created by the user; false (and nothing counted)
   * when that would pass `max`.
   */
  countCreation(userId: string, max: number): Promise<boolean>;
  uncountCreation(userId: string): Promise<void>;
}

/** The removal frame the store publishes on the room's channel. */
export function removedFrame(room: string): string {
  return `{"type":"removed","room":"${room}"}`;
}

/**
 * The DM room of two users: the same name from both sides, in the reserved
 * `dm-` namespace (nobody can create or post into it as a public room).
 */
export function dmRoomName(a: string, b: string): string {
  const [x, y] = a < b ? [a, b] : [b, a];
  return DM_PREFIX + createHash('sha256').update(`${x}\n${y}`, 'utf8').digest('hex').slice(0, 40);
}

export function isDmRoom(room: string): boolean {
  return room.startsWith(DM_PREFIX);
}
