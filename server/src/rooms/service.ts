import type { Identity } from '../auth.js';
import type { Broker } from '../broker/broker.js';
import { ChatError, badRequest } from '../errors.js';
import { ErrorCode, type AddedFrame, type MemberEntry, type Role, type RoomInfo, type User } from '../protocol.js';
import { tokenCovers, type RoomPolicy } from './policy.js';
import { dmRoomName, isDmRoom, type RoomStore } from './store.js';

export interface RoomsOptions {
  /** Rooms (DMs included) one user may create. */
  maxRoomsPerUser: number;
  /** Members listed at creation, at most. */
  maxInitialMembers: number;
}

/**
 * Creating rooms and DMs and managing members: the policy decides, the
 * store records, and users added to a room hear of it on their sockets
 * (addressed delivery). Used by the HTTP API.
 */
export class Rooms {
  constructor(
    private readonly store: RoomStore,
    private readonly policy: RoomPolicy,
    private readonly broker: Broker,
    private readonly options: RoomsOptions,
  ) {}

  async create(identity: Identity, room: string, isPrivate: boolean, members: string[]): Promise<RoomInfo> {
    if (isDmRoom(room)) throw badRequest(`room names starting with "dm-" are reserved for direct messages (POST /api/dm)`);
    if (members.length > this.options.maxInitialMembers) {
      throw badRequest(`at most ${this.options.maxInitialMembers} members may be listed at creation; add more with PUT`);
    }
    // Creating is posting into a new room: the token must cover it. Whether it exists is the store's answer (409).
    if (!tokenCovers(identity, room)) throw new ChatError(ErrorCode.forbidden, `this token is limited to other rooms than "${room}"`);
    const owner = identity.user;
    await this.countCreation(owner.id);
    const outcome = await this.store.create({ room, private: isPrivate, owner, members });
    if (outcome === 'exists') {
      await this.store.uncountCreation(owner.id);
      throw new ChatError(ErrorCode.conflict, `room "${room}" already exists`);
    }
    const distinct = new Set(members.filter((id) => id !== owner.id));
    await Promise.all([...distinct].map((id) => this.announce(id, { name: room, private: isPrivate, role: 'member' }, owner)));
    return { name: room, private: isPrivate, role: 'owner' };
  }

  /** The DM of the caller and `peer`; `created` is true the first time. */
  async dm(identity: Identity, peer: string): Promise<{ room: RoomInfo; created: boolean }> {
    const me = identity.user;
    if (peer === me.id) throw badRequest('a direct message needs another user than yourself');
    const name = dmRoomName(me.id, peer);
    const existing = await this.store.view(name, me.id);
    if (!existing.exists) await this.countCreation(me.id);
    const created = await this.store.ensureDm(name, me, peer);
    if (!existing.exists && !created) await this.store.uncountCreation(me.id); // the other side made it meanwhile
    if (created) await this.announce(peer, { name, private: true, role: 'member', peer: me.id }, me);
    return { room: { name, private: true, role: 'member', peer }, created };
  }

  async members(identity: Identity, room: string): Promise<MemberEntry[]> {
    const access = await this.policy.authorize(identity, room, 'read');
    if (access.role === null && !access.admin) throw new ChatError(ErrorCode.forbidden, `only members of "${room}" may list its members`);
    return this.store.members(room);
  }

  /** Adds the user or changes their role. */
  async setRole(identity: Identity, room: string, target: string, role: Role): Promise<MemberEntry> {
    if (role !== 'member' && role !== 'admin') throw badRequest('role must be "member" or "admin"');
    const access = await this.policy.authorize(identity, room, 'manage');
    if (!access.view.exists) throw new ChatError(ErrorCode.notFound, `room "${room}" has no members to manage (create it first)`);
    if (isDmRoom(room) && !access.admin) throw new ChatError(ErrorCode.forbidden, 'the members of a direct message are fixed');
    const previous = await this.store.setRole(room, target, role);
    if (previous === 'owner') throw new ChatError(ErrorCode.forbidden, 'the owner of a room cannot be demoted');
    if (previous === null) await this.announce(target, { name: room, private: access.view.private, role }, identity.user);
    return { id: target, role };
  }

  /** Removes a member: the owner and admins may remove others, anyone may remove themself. */
  async remove(identity: Identity, room: string, target: string): Promise<void> {
    const self = target === identity.user.id;
    const access = await this.policy.authorize(identity, room, self ? 'read' : 'manage');
    if (!self && access.view.owner === target) throw new ChatError(ErrorCode.forbidden, 'nobody but the owner may remove the owner');
    if (!self && isDmRoom(room) && !access.admin) throw new ChatError(ErrorCode.forbidden, 'the members of a direct message are fixed');
    if (!(await this.store.remove(room, target))) throw new ChatError(ErrorCode.notFound, `"${target}" is not a member of "${room}"`);
  }

  /** The caller's rooms: private rooms and DMs they belong to, public rooms they hold a role in. */
  list(identity: Identity): Promise<RoomInfo[]> {
    return this.store.roomsOf(identity.user.id);
  }

  private async countCreation(userId: string): Promise<void> {
    if (!(await this.store.countCreation(userId, this.options.maxRoomsPerUser))) {
      throw new ChatError(ErrorCode.forbidden, `a user may create at most ${this.options.maxRoomsPerUser} rooms (MAX_ROOMS_PER_USER)`);
    }
  }

  /** Tells every socket of the user, on any replica, that they were added to a room. */
  private async announce(userId: string, room: RoomInfo, by: User): Promise<void> {
    const frame: AddedFrame = { type: 'added', room, by };
    await this.broker.publishToUser(userId, JSON.stringify(frame)).catch(() => undefined); // a hint: the room list has it anyway
  }
}
