import type { Identity } from '../auth.js';
import { ChatError } from '../errors.js';
import { ErrorCode, type Role } from '../protocol.js';
import { isDmRoom, type RoomStore, type RoomView } from './store.js';

/**
 * What a caller wants to do in a room:
 * - read: join over a socket, read history, presence and members;
 * - post: send messages (sockets are authorized for it when they join);
 * - manage: add, remove and change members.
 */
export type Action = 'read' | 'post' | 'manage';

/** The decision, with what it was based on (handlers reuse the view instead of asking again). */
export interface Access {
  view: RoomView;
  /** The caller's role in the room, or null. */
  role: Role | null;
  /** The caller holds an `admin: true` token. */
  admin: boolean;
}

/**
 * The one place that answers "may this user do this in this room", for
 * sockets and every HTTP route alike. Decisions are made when a socket joins
 * or a request arrives, never per delivery: a socket that loses access is
 * removed from the room (the `removed` delivery), not re-checked per message.
 */
export class RoomPolicy {
  constructor(private readonly store: RoomStore) {}

  /** Resolves with the access, or throws ChatError(forbidden | not_found). */
  async authorize(identity: Identity, room: string, action: Action): Promise<Access> {
    if (!tokenCovers(identity, room)) {
      throw new ChatError(ErrorCode.forbidden, `this token is limited to other rooms than "${room}"`);
    }
    const view = await this.store.view(room, identity.user.id);
    const access: Access = { view, role: view.role, admin: identity.admin };
    if (identity.admin) return access;
    if (!view.exists && isDmRoom(room)) {
      // The dm- names are reserved: a DM exists only once POST /api/dm made it.
      throw new ChatError(ErrorCode.forbidden, `"${room}" is a direct-message room you are not in`);
    }
    if (action === 'manage') {
      if (!view.exists) throw new ChatError(ErrorCode.notFound, `room "${room}" has no members to manage (create it first)`);
      if (view.role !== 'owner' && view.role !== 'admin') throw new ChatError(ErrorCode.forbidden, `only the owner and admins manage "${room}"`);
      return access;
    }
    if (view.private && view.role === null) throw new ChatError(ErrorCode.forbidden, `"${room}" is a private room you are not a member of`);
    return access;
  }
}

/** The token's `rooms` claim: exact names, or prefixes ending in `*`. No claim: every room. */
export function tokenCovers(identity: Pick<Identity, 'rooms'>, room: string): boolean {
  if (!identity.rooms) return true;
  return identity.rooms.some((pattern) => (pattern.endsWith('*') ? room.startsWith(pattern.slice(0, -1)) : room === pattern));
}
