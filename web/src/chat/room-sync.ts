import {
  ErrorCode,
  isRoomName,
  type ChatMessage,
  type ClientFrame,
  type ErrorFrame,
  type JoinedFrame,
  type PresenceFrame,
  type TypingEvent,
} from '@roomcast/server/protocol';
import { ApiError, type ChatApi } from './api.js';
import { mergeMessages } from './messages.js';
import type { Outbox } from './outbox.js';
import { applyMessage, applyPresence, applyTyping, dropExpiredTyping } from './room-updates.js';
import { emptyRoom, type RoomState, type SendError } from './state.js';
import type { ChatStore, RefMaker } from './store.js';
import type { UnreadState } from './unread.js';

export interface RoomSyncOptions {
  /** A typing indicator disappears this long after the last signal. */
  typingExpiryMs: number;
  /** A refused join is tried again after about this long (0.5× to 1.5×). */
  joinRetryMs: number;
  historyPageSize: number;
  random: () => number;
  now: () => number;
}

/** What room sync needs from the rest of the client. */
export interface RoomSyncDeps {
  write(frame: ClientFrame): boolean;
  /** The socket frames go out on now. */
  generation(): number;
  connected(): boolean;
  /** Runs an HTTP call with the session's token (a 401 ends the session). */
  authorized<T>(call: (api: ChatApi, token: string) => Promise<T>): Promise<T>;
  /** The rooms list changed (joined, left): save it. */
  persistRooms(): void;
  /** The server will not (any longer) let the user into the room. */
  roomClosed(room: string, reason: 'forbidden' | 'removed'): void;
  /** The room's last known state kept on this device, for a room added now. */
  lastKnown(room: string): Partial<RoomState> | null;
}

/**
 * Each room's view of the server: join (and rejoin after a reconnect with
 * `since` = the last id seen), know when the replay is over, keep messages,
 * presence and typing current, and page in older history over HTTP.
 */
export class RoomSync {
  /** Rooms whose replay has been fully received on the current socket. */
  private readonly synced = new Set<string>();
  /** Ping refs sent after a `joined`, answered once the room's replay has arrived. */
  private readonly syncRefs = new Map<string, string>();
  /** Join refs in flight, to tell which room an `error` is about. */
  private readonly joinRefs = new Map<string, string>();
  /** The `since` of each room's last join on this socket (absent: joined without). */
  private readonly joinedSince = new Map<string, string>();
  private readonly joinRetryTimers = new Set<ReturnType<typeof setTimeout>>();
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly store: ChatStore,
    private readonly deps: RoomSyncDeps,
    private readonly outbox: Outbox,
    private readonly unread: UnreadState,
    private readonly refs: RefMaker,
    private readonly options: RoomSyncOptions,
  ) {}

  /** The room is joined on the current socket and its replay is over: sends may go. */
  isReady(room: string): boolean {
    return this.deps.connected() && this.store.room(room)?.joined === true && this.synced.has(room);
  }

  /** Adds the room and joins it unless it is there already; false for names outside the contract. */
  add(room: string): boolean {
    if (!isRoomName(room) || !this.store.state.session) return false;
    if (!this.store.room(room)) {
      this.store.update({
        rooms: { ...this.store.state.rooms, [room]: { ...emptyRoom(room), ...this.deps.lastKnown(room) } },
        roomOrder: [...this.store.state.roomOrder, room],
      });
      this.sendJoin(room);
      this.deps.persistRooms();
    }
    return true;
  }

  /** Forgets the room; says `leave` when asked and it is joined. */
  drop(room: string, sayLeave: boolean): void {
    const current = this.store.room(room);
    if (!current) return;
    if (sayLeave && current.joined) this.deps.write({ type: 'leave', room });
    for (const [ref, name] of this.joinRefs) if (name === room) this.joinRefs.delete(ref);
    const rooms = { ...this.store.state.rooms };
    delete rooms[room];
    const roomOrder = this.store.state.roomOrder.filter((name) => name !== room);
    this.outbox.forgetRoom(current.pending);
    this.unread.forget(room);
    this.synced.delete(room);
    this.joinedSince.delete(room);
    this.clearTypingTimer(room);
    const activeRoom = this.store.state.activeRoom === room ? (roomOrder[0] ?? null) : this.store.state.activeRoom;
    this.store.update({ rooms, roomOrder, activeRoom });
    this.deps.persistRooms();
  }

  /** Forgets a room the server will not (any longer) let us into; it is not joined again. */
  close(room: string, reason: 'forbidden' | 'removed'): void {
    this.drop(room, false);
    this.deps.roomClosed(room, reason);
  }

  /** Loads the page of history before the oldest message we have. */
  async loadOlder(room: string): Promise<void> {
    const current = this.store.room(room);
    const session = this.store.state.session;
    if (!current || !session || current.history.loading || current.history.exhausted) return;
    this.store.patchRoom(room, { history: { ...current.history, loading: true, error: undefined } });
    const limit = this.options.historyPageSize;
    try {
      const page = await this.deps.authorized((api, token) => api.messages(token, room, current.messages[0]?.id, limit));
      const latest = this.store.room(room);
      if (!latest || this.store.state.session !== session) return;
      this.store.patchRoom(room, {
        messages: mergeMessages(latest.messages, page.messages),
        history: { loading: false, exhausted: page.messages.length < limit },
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) return;
      const latest = this.store.room(room);
      if (!latest) return;
      const message = error instanceof Error ? error.message : 'could not load history';
      this.store.patchRoom(room, { history: { loading: false, exhausted: false, error: message } });
    }
  }

  // ------------------------------------------------------------ frames

  /** A new socket was welcomed: join every room again. */
  welcomed(): void {
    for (const room of this.store.state.roomOrder) this.sendJoin(room);
  }

  joined(frame: JoinedFrame): void {
    // Servers may or may not echo the join's ref: forget every join of this room in flight.
    for (const [ref, name] of this.joinRefs) if (name === frame.room) this.joinRefs.delete(ref);
    const room = this.store.room(frame.room);
    if (!room) return;
    this.unread.joined(frame.room);
    const patch: Partial<RoomState> = { joined: true, users: frame.users, truncated: frame.truncated, error: undefined };
    if (typeof frame.epoch === 'string') patch.epoch = frame.epoch;
    if (frame.truncated && this.joinedSince.has(frame.room)) {
      // The server cannot vouch that nothing is missing after what we hold (trimmed, or a log that was lost
      // and started again): start the list again from the replay, and page in history from the server.
      patch.messages = [];
      patch.history = { loading: false, exhausted: false };
      patch.firstUnread = undefined;
    }
    this.store.replaceRoom({ ...room, ...patch });
    // The replay follows `joined` on this socket; a pong to a ping sent now comes after it.
    // Only then do we know which pending sends were stored before we lost the old socket.
    const ref = this.refs.next('s');
    this.syncRefs.set(ref, frame.room);
    this.deps.write({ type: 'ping', ref });
  }

  /** A pong: returns whether it was one of ours (the end of a replay). */
  pong(ref: string): boolean {
    const room = this.syncRefs.get(ref);
    if (room === undefined) return false;
    this.syncRefs.delete(ref);
    this.synced.add(room);
    this.outbox.flush(room);
    return true;
  }

  message(message: ChatMessage): void {
    const room = this.store.room(message.room);
    if (!room) return;
    const reading = this.unread.reading(message.room);
    const me = this.store.state.session?.user.id;
    let next = applyMessage(room, message, (m) => !reading && m.user.id !== me && this.unread.isUnread(m));
    if (next === room) return;
    if (next.unread > room.unread && room.unread === 0) next = { ...next, firstUnread: message.id };
    this.store.replaceRoom(next);
    if (reading && next.messages !== room.messages) this.unread.seen(message.room, next.messages.at(-1)!.id);
    // After the room's state lost it, so that the outbox sends the next one, not this one again.
    if (next.pending !== room.pending && message.ref !== undefined) this.outbox.stored(message.room, message.ref);
  }

  presence(frame: PresenceFrame): void {
    const room = this.store.room(frame.room);
    if (room) this.store.replaceRoom(applyPresence(room, frame.joined, frame.left));
  }

  typing(frame: TypingEvent): void {
    const room = this.store.room(frame.room);
    if (!room || frame.user.id === this.store.state.session?.user.id) return;
    this.store.replaceRoom(applyTyping(room, frame.user, this.options.now() + this.options.typingExpiryMs));
    this.scheduleTypingExpiry(frame.room);
  }

  /** Nothing more of the room comes on this socket: close it rather than join it again. */
  removed(room: string): void {
    if (this.store.room(room)) this.close(room, 'removed');
  }

  /** An `error` frame: returns whether it answered one of our joins. */
  joinRefused(frame: ErrorFrame): boolean {
    if (frame.ref === undefined) return false;
    const room = this.joinRefs.get(frame.ref);
    if (room === undefined) return false;
    this.joinRefs.delete(frame.ref);
    // A private room: asking again will not help. Said once (by the membership module), not retried.
    if (frame.code === ErrorCode.forbidden) this.close(room, 'forbidden');
    else this.retryJoinLater(room, { code: frame.code, message: frame.message });
    return true;
  }

  // ------------------------------------------------------------ socket changes

  /** The socket is gone: nothing is joined or synced, typing indicators go. */
  dropped(): void {
    this.synced.clear();
    this.syncRefs.clear();
    this.joinRefs.clear();
    this.joinedSince.clear();
    for (const timer of this.joinRetryTimers) clearTimeout(timer);
    this.joinRetryTimers.clear();
    let changed = false;
    const rooms: Record<string, RoomState> = {};
    for (const [name, room] of Object.entries(this.store.state.rooms)) {
      if (room.joined || room.typing.length > 0) {
        changed = true;
        rooms[name] = { ...room, joined: false, typing: [] };
        this.clearTypingTimer(name);
      } else {
        rooms[name] = room;
      }
    }
    if (changed) this.store.update({ rooms });
  }

  stop(): void {
    for (const room of [...this.typingTimers.keys()]) this.clearTypingTimer(room);
  }

  // ------------------------------------------------------------ internals

  /** Joins with `since` = the last id we hold and the epoch it belongs to, so the server can say if anything is lost. */
  private sendJoin(room: string): void {
    const current = this.store.room(room);
    const since = current?.messages.at(-1)?.id;
    this.synced.delete(room);
    const ref = this.refs.next('j');
    const frame: ClientFrame =
      since === undefined ? { type: 'join', room, ref } : { type: 'join', room, since, ...(current?.epoch ? { epoch: current.epoch } : {}), ref };
    if (!this.deps.write(frame)) return;
    this.joinRefs.set(ref, room);
    if (since === undefined) this.joinedSince.delete(room);
    else this.joinedSince.set(room, since);
  }

  /** The server could not join us (e.g. its broker is down): say so, and try again a little later. */
  private retryJoinLater(room: string, error: SendError): void {
    this.store.patchRoom(room, { error });
    const generation = this.deps.generation();
    const delay = this.options.joinRetryMs / 2 + this.options.random() * this.options.joinRetryMs;
    const timer = setTimeout(() => {
      this.joinRetryTimers.delete(timer);
      const current = this.store.room(room);
      if (generation === this.deps.generation() && current && !current.joined) this.sendJoin(room);
    }, delay);
    this.joinRetryTimers.add(timer);
  }

  /** One timer per room, for the indicator that expires first. */
  private scheduleTypingExpiry(room: string): void {
    this.clearTypingTimer(room);
    const typing = this.store.room(room)?.typing ?? [];
    if (typing.length === 0) return;
    const next = Math.min(...typing.map((t) => t.until));
    const timer = setTimeout(() => {
      this.typingTimers.delete(room);
      const current = this.store.room(room);
      if (!current) return;
      this.store.replaceRoom(dropExpiredTyping(current, this.options.now()));
      this.scheduleTypingExpiry(room);
    }, Math.max(0, next - this.options.now()));
    this.typingTimers.set(room, timer);
  }

  private clearTypingTimer(room: string): void {
    const timer = this.typingTimers.get(room);
    if (timer !== undefined) clearTimeout(timer);
    this.typingTimers.delete(room);
  }
}
