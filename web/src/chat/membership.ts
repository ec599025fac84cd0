import { DM_PREFIX, ErrorCode, isRoomName, type ServerFrame, type User } from '@roomcast/server/protocol';
import { ApiError, type AddedEvent, type MemberListing, type RoomListing } from './api.js';
import type { ChatClient, ChatEvent } from './connection.js';
import { PeopleBook } from './people.js';
import type { KeyValueStore } from './storage.js';

/** Something the user should be told once: why a room closed. */
export interface Notice {
  id: number;
  kind: 'removed' | 'forbidden';
  room: string;
  /** How the room was shown when it closed (a DM by the other person's name). */
  label: string;
}

export interface MembershipState {
  /** Private rooms and DMs the user belongs to (and public rooms where they hold a role), as the server lists them. */
  rooms: readonly RoomListing[];
  status: 'idle' | 'loading' | 'ready' | 'error';
  error: string | null;
  notices: readonly Notice[];
  /** People met in shared rooms, most recent first; never the user. */
  people: readonly User[];
}

export interface MembershipOptions {
  /** Where the people book lives (localStorage in the browser); null keeps it in memory only. */
  storage?: KeyValueStore | null;
}

const EMPTY: MembershipState = { rooms: [], status: 'idle', error: null, notices: [], people: [] };

export function isDmName(room: string): boolean {
  return room.startsWith(DM_PREFIX);
}

/**
 * Which rooms the user belongs to and who they can invite, beside the
 * connection (ChatClient) and built on its events:
 *
 * - the list of private rooms and DMs, loaded on every (re)connect and kept
 *   current by `added` and `removed` frames and the user's own actions;
 * - notices for rooms the server closed: a join refused with `forbidden`
 *   (the client does not retry it) or a `removed` frame;
 * - the people book (names met in shared rooms), for the invite picker.
 */
export class Membership {
  private state: MembershipState = EMPTY;
  private readonly listeners = new Set<() => void>();
  private readonly people: PeopleBook;
  private readonly unsubscribe: Array<() => void> = [];
  private user: User | null = null;
  private noticeCounter = 0;
  /** Rooms the user is leaving on purpose: their `removed` is no news. */
  private readonly leaving = new Set<string>();
  /** Changes made while a listing was being fetched, re-applied over its answer (null = gone). */
  private editsInFlight: Map<string, RoomListing | null> | null = null;
  private refreshes = 0;

  constructor(
    private readonly client: ChatClient,
    options: MembershipOptions = {},
  ) {
    this.people = new PeopleBook(options.storage ?? null);
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): MembershipState => this.state;

  start(): void {
    if (this.unsubscribe.length > 0) return;
    this.unsubscribe.push(this.client.onEvent(this.handleEvent), this.client.subscribe(this.handleSession));
    this.handleSession();
  }

  stop(): void {
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
  }

  // ------------------------------------------------------------ reading

  /** How to show a room: a DM by the other person's name (or id), anything else by its name. */
  label(room: string): string {
    const listing = this.state.rooms.find((r) => r.name === room);
    if (listing?.peer !== undefined) return this.people.nameOf(listing.peer) ?? listing.peer;
    return room;
  }

  nameOf(id: string): string | undefined {
    return this.people.nameOf(id);
  }

  // ------------------------------------------------------------ actions

  /** Reloads the list of the user's rooms (done on every connect). */
  async refresh(): Promise<void> {
    const user = this.user;
    if (!user) return;
    const run = ++this.refreshes;
    this.editsInFlight = new Map();
    this.update({ status: 'loading', error: null });
    try {
      const rooms = await this.client.authorized((api, token) => api.rooms(token));
      if (run !== this.refreshes || this.user !== user) return;
      const edits = this.editsInFlight ?? new Map<string, RoomListing | null>();
      this.editsInFlight = null;
      let next = rooms.filter((room) => isRoomName(room.name) && !edits.has(room.name));
      for (const listing of edits.values()) if (listing) next = [listing, ...next];
      this.update({ rooms: next, status: 'ready' });
    } catch (error) {
      if (run !== this.refreshes || this.user !== user) return;
      this.editsInFlight = null;
      this.update({ status: 'error', error: errorText(error, 'Could not load your rooms.') });
    }
  }

  /** Creates a private room with the user as owner and `members` invited; throws ApiError (e.g. `conflict`). */
  async createPrivateRoom(name: string, members: readonly string[]): Promise<RoomListing> {
    if (!isRoomName(name)) throw new ApiError(400, ErrorCode.badRequest, 'That is not a valid room name.');
    const me = this.user?.id;
    const invited = [...new Set(members.map((id) => id.trim()).filter((id) => id !== '' && id !== me))];
    const room = await this.client.authorized((api, token) => api.createPrivateRoom(token, name, invited));
    const listing: RoomListing = { ...room, private: true };
    this.upsert(listing);
    return listing;
  }

  /** Opens (or finds) the DM room with `user`; the same room from both sides. */
  async openDm(user: User | string): Promise<RoomListing> {
    const id = typeof user === 'string' ? user.trim() : user.id;
    if (id === '' || id === this.user?.id) throw new ApiError(400, ErrorCode.badRequest, 'Pick someone other than yourself.');
    if (typeof user !== 'string' && this.people.remember([user])) this.update({ people: this.people.list() });
    const room = await this.client.authorized((api, token) => api.openDm(token, id));
    const listing: RoomListing = { ...room, peer: room.peer ?? id };
    this.upsert(listing);
    return listing;
  }

  /** The room's members; their names go into the people book. */
  async members(room: string): Promise<MemberListing[]> {
    const members = await this.client.authorized((api, token) => api.members(token, room));
    this.rememberPeople(members.flatMap((m) => (typeof m.name === 'string' ? [{ id: m.id, name: m.name }] : [])));
    return members;
  }

  async addMember(room: string, user: string, role: 'member' | 'admin' = 'member'): Promise<void> {
    await this.client.authorized((api, token) => api.setMember(token, room, user.trim(), role));
  }

  /** Removes someone (owner/admins), or the user themself: then the room closes here without a notice. */
  async removeMember(room: string, user: string): Promise<void> {
    if (user !== this.user?.id) {
      await this.client.authorized((api, token) => api.removeMember(token, room, user));
      return;
    }
    this.leaving.add(room);
    try {
      await this.client.authorized((api, token) => api.removeMember(token, room, user));
      this.client.leaveRoom(room);
      this.drop(room);
    } finally {
      this.leaving.delete(room);
    }
  }

  leave(room: string): Promise<void> {
    const me = this.user?.id;
    if (!me) return Promise.resolve();
    return this.removeMember(room, me);
  }

  dismiss(noticeId: number): void {
    if (!this.state.notices.some((n) => n.id === noticeId)) return;
    this.update({ notices: this.state.notices.filter((n) => n.id !== noticeId) });
  }

  // ------------------------------------------------------------ events

  private readonly handleSession = (): void => {
    const user = this.client.getSnapshot().session?.user ?? null;
    if (user?.id === this.user?.id) return;
    this.user = user;
    this.refreshes++;
    this.editsInFlight = null;
    this.leaving.clear();
    this.people.load(user?.id ?? null);
    this.state = { ...EMPTY, people: this.people.list() };
    this.emit();
  };

  private readonly handleEvent = (event: ChatEvent): void => {
    if (event.type === 'room-closed') {
      const label = this.label(event.room);
      this.drop(event.room);
      if (this.leaving.has(event.room)) return;
      const notice: Notice = { id: ++this.noticeCounter, kind: event.reason, room: event.room, label };
      // Once per room: a second refusal of the same room replaces the first notice.
      this.update({ notices: [...this.state.notices.filter((n) => n.room !== event.room), notice] });
      return;
    }
    this.onFrame(event.frame);
  };

  private onFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        void this.refresh();
        return;
      case 'joined':
        return this.rememberPeople(frame.users);
      case 'presence':
        return this.rememberPeople(frame.joined);
      case 'message':
        return this.rememberPeople([frame.user]);
      case 'removed':
        return this.drop(frame.room);
      case 'added':
        return this.onAdded(frame);
    }
  }

  private onAdded(frame: AddedEvent): void {
    const room = frame.room;
    if (!room || !isRoomName(room.name)) return;
    if (frame.by) this.rememberPeople([frame.by]);
    this.upsert(room);
    // A DM someone else started: join it in the background, so their messages count as unread.
    if (room.peer !== undefined && frame.by?.id !== this.user?.id) this.client.joinRoom(room.name);
  }

  // ------------------------------------------------------------ state

  private rememberPeople(users: readonly User[]): void {
    if (this.people.remember(users)) this.update({ people: this.people.list() });
  }

  private upsert(listing: RoomListing): void {
    this.editsInFlight?.set(listing.name, listing);
    const rooms = this.state.rooms;
    const index = rooms.findIndex((r) => r.name === listing.name);
    const next = index === -1 ? [listing, ...rooms] : rooms.map((r, i) => (i === index ? { ...r, ...listing } : r));
    this.update({ rooms: next });
  }

  private drop(room: string): void {
    this.editsInFlight?.set(room, null);
    if (!this.state.rooms.some((r) => r.name === room)) return;
    this.update({ rooms: this.state.rooms.filter((r) => r.name !== room) });
  }

  private update(patch: Partial<MembershipState>): void {
    this.state = { ...this.state, ...patch };
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}

function errorText(error: unknown, fallback: string): string {
  return error instanceof Error && error.message ? error.message : fallback;
}
