import { LIMITS, type ServerFrame, type User } from '@roomcast/server/protocol';
import { ApiError, ChatApi, type FetchLike } from './api.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import { Drafts } from './drafts.js';
import { OfflineStore } from './offline-store.js';
import { DEFAULT_OUTBOX, Outbox } from './outbox.js';
import type { PacingOptions } from './pacing.js';
import { RoomSync } from './room-sync.js';
import { Snapshots } from './snapshots.js';
import { SocketSession } from './socket-session.js';
import type { NetworkEvents, SocketConstructor } from './socket.js';
import { emptyRoom, type ChatState, type RoomState, type SendError } from './state.js';
import { SessionStore, type KeyValueStore, type SavedRoom } from './storage.js';
import { ChatStore, RefMaker } from './store.js';
import { ALWAYS_ATTENTIVE, UnreadState, type Attention } from './unread.js';

export { socketOrigin, type NetworkEvents, type SocketConstructor, type SocketLike } from './socket.js';
export { MAX_PENDING_TEXT } from './outbox.js';
export type { Attention } from './unread.js';

export interface ChatClientOptions {
  WebSocket: SocketConstructor;
  fetch: FetchLike;
  /** Origin for HTTP calls, e.g. `http://127.0.0.1:3000`; '' means the page's origin. */
  httpBase?: string;
  /** Origin for the socket, e.g. `ws://127.0.0.1:3000`. */
  wsBase: string;
  /** Where the token and the open rooms live for the tab (sessionStorage); null keeps nothing. */
  storage?: KeyValueStore | null;
  /**
   * Where each user's outbox, drafts and rooms' last known state live on the
   * device (localStorage); null keeps nothing.
   */
  userStorage?: KeyValueStore | null;
  network?: NetworkEvents;
  /** Whether the user can see the page (unread counts); default: always. */
  attention?: Attention;
  /** The client's send budget per socket (under the server's). */
  pacing?: PacingOptions;
  /** First pause after a send refusal that may pass; doubles up to 30 s. */
  sendRetryMs?: number;
  /** Rooms' last known state is written at most this often. */
  snapshotDelayMs?: number;
  backoff?: BackoffOptions;
  /** At most one typing signal per room per this many ms. */
  typingThrottleMs?: number;
  /** A typing indicator disappears this long after the last signal. */
  typingExpiryMs?: number;
  /** Liveness ping interval; 0 disables client pings (the server pings anyway). */
  pingIntervalMs?: number;
  /** Without a pong within this time the socket is considered dead. */
  pongTimeoutMs?: number;
  /** A refused join is tried again after about this long (0.5× to 1.5×). */
  joinRetryMs?: number;
  historyPageSize?: number;
  random?: () => number;
  now?: () => number;
}

export const SESSION_EXPIRED = 'Your session expired. Please sign in again.';

/**
 * What the client tells its companions (the membership module): every frame
 * after the client applied it, and rooms it closed because the server said
 * the user may not (any longer) be there.
 */
export type ChatEvent =
  | { type: 'frame'; frame: ServerFrame }
  | { type: 'room-closed'; room: string; reason: 'forbidden' | 'removed' };

/**
 * The chat's connection and everything it knows, with no UI in it: the
 * session (token, sign-in, sign-out) and the parts it is made of, each with
 * one job:
 *
 * - SocketSession: one socket, reconnect with backoff and jitter, liveness;
 * - RoomSync: join and rejoin with `since`, messages, presence, typing, history;
 * - Outbox: the user's sends until the server has them, and typing signals;
 * - UnreadState: read markers and what counts as unread.
 *
 * Listeners get a new immutable snapshot (`getSnapshot`) after every change,
 * which is what React's useSyncExternalStore wants.
 */
export class ChatClient {
  private readonly store: ChatStore;
  private readonly eventListeners = new Set<(event: ChatEvent) => void>();
  private readonly api: ChatApi;
  private readonly sessionStore: SessionStore;
  private readonly session: SocketSession;
  private readonly sync: RoomSync;
  private readonly outbox: Outbox;
  private readonly unread: UnreadState;
  private readonly offline: OfflineStore;
  private readonly snapshots: Snapshots;
  /** What the user is writing, per room (kept on the device). */
  readonly drafts: Drafts;
  private token: string | null = null;
  private started = false;

  constructor(options: ChatClientOptions) {
    const settings = {
      backoff: DEFAULT_BACKOFF,
      ...DEFAULT_OUTBOX,
      typingExpiryMs: 4000,
      snapshotDelayMs: 1000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      joinRetryMs: 2000,
      historyPageSize: LIMITS.defaultPageSize,
      random: Math.random,
      now: Date.now,
      ...options,
    };
    this.api = new ChatApi(options.fetch, options.httpBase ?? '');
    this.sessionStore = new SessionStore(options.storage ?? null);
    this.offline = new OfflineStore(options.userStorage ?? null);
    this.drafts = new Drafts(this.offline);
    const refs = new RefMaker();

    const saved = this.sessionStore.loadSession();
    this.token = saved?.token ?? null;
    this.store = new ChatStore({
      session: saved ? { user: saved.user } : null,
      authError: null,
      connection: { status: 'offline', reason: 'signed_out' },
      rooms: {},
      roomOrder: [],
      activeRoom: null,
    });
    const user = () => this.store.state.session?.user.id ?? null;
    this.snapshots = new Snapshots(this.store, this.offline, user, { delayMs: settings.snapshotDelayMs, now: settings.now });
    this.unread = new UnreadState(this.store, settings.now, () => this.persistRooms(), options.attention ?? ALWAYS_ATTENTIVE);

    this.session = new SocketSession(
      settings,
      {
        token: () => this.token,
        onFrame: (frame) => this.handleFrame(frame),
        onConnection: (connection) => this.store.update({ connection }),
        onDropped: () => this.sync.dropped(),
        onTokenRefused: () => this.endSession(SESSION_EXPIRED, false),
      },
      this.api,
      refs,
      options.network,
    );
    this.outbox = new Outbox(
      this.store,
      {
        write: (frame) => this.session.write(frame),
        generation: () => this.session.generation,
        isReady: (room) => this.sync.isReady(room),
        user,
      },
      this.offline,
      refs,
      { ...settings, retryBaseMs: options.sendRetryMs ?? settings.retryBaseMs },
    );
    this.sync = new RoomSync(
      this.store,
      {
        write: (frame) => this.session.write(frame),
        generation: () => this.session.generation,
        connected: () => this.session.connected,
        authorized: (call) => this.authorized(call),
        persistRooms: () => this.persistRooms(),
        roomClosed: (room, reason) => {
          this.forgetRoomData(room);
          this.emit({ type: 'room-closed', room, reason });
        },
        lastKnown: (room) => this.snapshots.lastKnown(room),
      },
      this.outbox,
      this.unread,
      refs,
      settings,
    );
    if (saved) this.restoreUser(saved.user.id, this.sessionStore.loadRooms());
  }

  // ------------------------------------------------------------ store API

  subscribe = (listener: () => void): (() => void) => this.store.subscribe(listener);

  getSnapshot = (): ChatState => this.store.state;

  /** Frames and closed rooms, for modules that build on the connection. */
  onEvent(listener: (event: ChatEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /**
   * Runs an HTTP call with the session's token. A 401 ends the session (the
   * login screen asks to sign in again); every error is rethrown.
   */
  async authorized<T>(call: (api: ChatApi, token: string) => Promise<T>): Promise<T> {
    const token = this.token;
    if (!token) throw new ApiError(401, 'unauthorized', 'You are not signed in.');
    try {
      return await call(this.api, token);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && this.token === token) this.endSession(SESSION_EXPIRED, false);
      throw error;
    }
  }

  // ------------------------------------------------------------ lifecycle

  /** Connects if a session was restored; call once after construction. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unread.start();
    this.snapshots.start();
    this.session.listen();
    if (this.token) this.session.connect();
  }

  /** Closes the socket and every timer (page unload, tests); what is worth keeping is written first. */
  stop(): void {
    this.started = false;
    this.snapshots.stop();
    this.unread.stop();
    this.session.stop();
    this.sync.stop();
    this.outbox.reset();
  }

  /** Writes what is kept on the device now (the page is being hidden or unloaded). */
  persistNow(): void {
    this.snapshots.flush();
  }

  /** The guest login (`POST /api/login`). */
  async login(name: string): Promise<void> {
    this.adoptSession(await this.api.login(name));
  }

  /** Starts a session with a token obtained elsewhere (an OpenID Connect ID token). */
  adoptSession({ token, user }: { token: string; user: User }): void {
    this.token = token;
    this.sessionStore.saveSession({ token, user });
    this.store.update({ session: { user }, authError: null });
    this.restoreUser(user.id, []);
    if (this.started) this.session.connect();
  }

  logout(): void {
    this.endSession(null, true);
  }

  /** Skips the backoff wait (a "retry now" button, or the page coming back). */
  reconnectNow(): void {
    this.session.reconnectNow();
  }

  // ------------------------------------------------------------ rooms

  /** Joins the room if needed and makes it the one the user is reading. */
  openRoom(room: string): boolean {
    if (!this.sync.add(room)) return false;
    const previous = this.store.state.activeRoom;
    if (previous !== room) this.store.update({ activeRoom: room });
    this.unread.opened(room, previous);
    return true;
  }

  /** Joins the room in the background (its unread count grows) unless it is joined already. */
  joinRoom(room: string): boolean {
    return this.sync.add(room);
  }

  /** Leaves the room; what the device kept of it (messages, unsent sends, the draft) goes too. */
  leaveRoom(room: string): void {
    this.sync.drop(room, true);
    this.forgetRoomData(room);
  }

  /** The view of the room is (or is no longer) scrolled to its newest message. */
  setAtBottom(room: string, atBottom: boolean): void {
    this.unread.setAtBottom(room, atBottom);
  }

  /** Loads the page of history before the oldest message we have. */
  loadOlder(room: string): Promise<void> {
    return this.sync.loadOlder(room);
  }

  // ------------------------------------------------------------ sending

  /**
   * Shows the message at once as pending and sends it when the room is ready.
   * Returns an error (and keeps nothing) for text the server would refuse.
   */
  send(room: string, text: string): SendError | null {
    const refused = this.outbox.send(room, text);
    if (!refused) this.unread.wrote(room);
    return refused;
  }

  /** Sends a failed message again, with the same ref. */
  retry(room: string, ref: string): void {
    this.outbox.retry(room, ref);
  }

  /** Takes a refused message back into the room's draft, to be changed and sent again. */
  edit(room: string, ref: string): void {
    const text = this.outbox.edit(room, ref);
    if (text === null) return;
    const draft = this.drafts.get(room);
    this.drafts.set(room, draft.trim() === '' ? text : `${text}\n${draft}`);
  }

  discard(room: string, ref: string): void {
    this.outbox.discard(room, ref);
  }

  /** Call on every keystroke: at most one signal per throttle period goes out. */
  notifyTyping(room: string): void {
    this.outbox.notifyTyping(room);
  }

  // ------------------------------------------------------------ frames in

  private handleFrame(frame: ServerFrame): void {
    this.applyFrame(frame);
    this.emit({ type: 'frame', frame });
  }

  private applyFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        this.outbox.socketOpened();
        return this.sync.welcomed();
      case 'joined':
        return this.sync.joined(frame);
      case 'message':
        return this.sync.message(frame);
      case 'presence':
        return this.sync.presence(frame);
      case 'typing':
        return this.sync.typing(frame);
      case 'pong':
        if (frame.ref !== undefined && !this.sync.pong(frame.ref)) this.session.pong();
        return;
      case 'error':
        if (frame.ref === undefined || this.sync.joinRefused(frame)) return;
        this.outbox.refused(frame.ref, { code: frame.code, message: frame.message });
        return;
      case 'removed':
        return this.sync.removed(frame.room);
    }
  }

  // ------------------------------------------------------------ state

  /**
   * Adds what the device kept for the user: the tab's rooms with their last
   * known state, the drafts, and the outbox (its rooms are joined, so that
   * nothing written is left unsent).
   */
  private restoreUser(user: string, rooms: readonly SavedRoom[]): void {
    this.drafts.load(user);
    // Rooms kept in the state over an expired session come back with what the device knows of them.
    for (const room of Object.values(this.store.state.rooms)) {
      const known = room.messages.length === 0 ? this.snapshots.lastKnown(room.name) : null;
      if (known) this.store.patchRoom(room.name, known);
    }
    for (const room of rooms) {
      if (!this.sync.add(room.name)) continue;
      if (room.readUpTo) this.unread.restore(room.name, room.readUpTo);
    }
    const sends = this.offline.loadOutbox(user).filter((send) => this.sync.add(send.room));
    this.outbox.adopt(sends);
  }

  private forgetRoomData(room: string): void {
    this.snapshots.forget(room);
    this.drafts.set(room, '');
  }

  private endSession(authError: string | null, forgetRooms: boolean): void {
    const user = this.store.state.session?.user.id;
    this.snapshots.flush();
    this.token = null;
    this.session.end();
    this.sync.stop();
    this.outbox.reset();
    this.unread.reset(forgetRooms);
    this.snapshots.reset();
    if (forgetRooms) {
      // Logging out (perhaps of a shared computer): nothing of the user stays on the device.
      if (user !== undefined) this.offline.clear(user);
      this.sessionStore.clearAll();
    } else {
      this.persistRooms();
      this.sessionStore.clearSession();
    }
    this.drafts.load(null);
    // Nothing is shown while signed out; the next sign-in restores the rooms with what the device kept.
    const rooms: Record<string, RoomState> = {};
    if (!forgetRooms) for (const name of this.store.state.roomOrder) rooms[name] = emptyRoom(name);
    this.session.setConnection({ status: 'offline', reason: 'signed_out' });
    this.store.update({ session: null, authError, rooms, roomOrder: forgetRooms ? [] : this.store.state.roomOrder, activeRoom: null });
  }

  private persistRooms(): void {
    if (!this.token) return;
    this.sessionStore.saveRooms(this.store.state.roomOrder.map((name) => ({ name, readUpTo: this.unread.marker(name) })));
  }

  private emit(event: ChatEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }
}
