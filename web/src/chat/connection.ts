import {
  CloseCode,
  ErrorCode,
  LIMITS,
  WS_SUBPROTOCOL,
  WS_TOKEN_PROTOCOL_PREFIX,
  codePointLength,
  compareIds,
  isRoomName,
  normalizeText,
  type ChatMessage,
  type ClientFrame,
  type ErrorFrame,
  type JoinedFrame,
  type PresenceFrame,
  type RemovedFrame,
  type ServerFrame,
  type TypingEvent,
  type User,
  type WelcomeFrame,
} from '@roomcast/server/protocol';
import { ApiError, ChatApi, type FetchLike } from './api.js';
import { DEFAULT_BACKOFF, backoffDelay, type BackoffOptions } from './backoff.js';
import { Liveness } from './liveness.js';
import type { NetworkEvents, SocketConstructor, SocketLike } from './socket.js';
import { mergeMessages } from './messages.js';
import { applyMessage, applyPresence, applyTyping, dropExpiredTyping, markSendFailed } from './room-updates.js';
import { emptyRoom, type ChatState, type ConnectionState, type PendingSend, type RoomState, type SendError } from './state.js';
import { SessionStore, type KeyValueStore } from './storage.js';
import { isTokenExpired } from './token.js';

export { socketOrigin, type NetworkEvents, type SocketConstructor, type SocketLike } from './socket.js';

export interface ChatClientOptions {
  WebSocket: SocketConstructor;
  fetch: FetchLike;
  /** Origin for HTTP calls, e.g. `http://127.0.0.1:3000`; '' means the page's origin. */
  httpBase?: string;
  /** Origin for the socket, e.g. `ws://127.0.0.1:3000`. */
  wsBase: string;
  /** Where the token lives for the tab (sessionStorage); null keeps nothing. */
  storage?: KeyValueStore | null;
  network?: NetworkEvents;
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
export const MAX_PENDING_TEXT = LIMITS.maxTextCodePoints;

/** Tolerance between the server's clock (message ts) and ours, for rooms never read. */
const CLOCK_SKEW_MS = 2000;

/**
 * The chat's connection and everything it knows, with no UI in it.
 *
 * It owns the socket lifecycle: login token, connect, reconnect with backoff
 * and full jitter, rejoin of every room with `since` = the last id seen, and
 * the sends that are still waiting for their echo. Listeners get a new
 * immutable snapshot (`getSnapshot`) after every change, which is what
 * React's useSyncExternalStore wants.
 */
export class ChatClient {
  private state: ChatState;
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(event: ChatEvent) => void>();
  private readonly api: ChatApi;
  private readonly store: SessionStore;
  private readonly options: Required<Omit<ChatClientOptions, 'network' | 'storage' | 'httpBase'>>;
  private readonly network: NetworkEvents | undefined;

  private token: string | null = null;
  private socket: SocketLike | null = null;
  /** Bumped for every socket, so events of an abandoned socket are ignored. */
  private generation = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly liveness: Liveness;
  private readonly typingTimers = new Map<string, ReturnType<typeof setTimeout>>();
  private readonly typingSentAt = new Map<string, number>();
  /** Per room: the last id the user has seen (persisted), for unread counts. */
  private readonly readUpTo = new Map<string, string>();
  /** Per room: when the current join was confirmed, for rooms without a read marker. */
  private readonly joinedAt = new Map<string, number>();
  /** Rooms whose replay has been fully received on the current socket. */
  private readonly synced = new Set<string>();
  /** Ping refs sent after a `joined`, answered once the room's replay has arrived. */
  private readonly syncRefs = new Map<string, string>();
  /** Join refs in flight, to tell which room an `error` is about. */
  private readonly joinRefs = new Map<string, string>();
  private readonly joinRetryTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Socket generation each pending send was last written on. */
  private readonly sentOn = new Map<string, number>();
  private readonly refPrefix: string;
  private refCounter = 0;
  private started = false;

  constructor(options: ChatClientOptions) {
    this.options = {
      backoff: DEFAULT_BACKOFF,
      typingThrottleMs: 2000,
      typingExpiryMs: 4000,
      pingIntervalMs: 25_000,
      pongTimeoutMs: 10_000,
      joinRetryMs: 2000,
      historyPageSize: LIMITS.defaultPageSize,
      random: Math.random,
      now: Date.now,
      ...options,
    };
    this.network = options.network;
    this.liveness = new Liveness(this.options.pingIntervalMs, this.options.pongTimeoutMs);
    this.api = new ChatApi(options.fetch, options.httpBase ?? '');
    this.store = new SessionStore(options.storage ?? null);
    // Refs only need to differ from other tabs' refs: not drawn from the injected `random`.
    this.refPrefix = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);

    const saved = this.store.loadSession();
    this.token = saved?.token ?? null;
    const rooms: Record<string, RoomState> = {};
    const roomOrder: string[] = [];
    if (saved) {
      for (const room of this.store.loadRooms()) {
        if (rooms[room.name]) continue;
        rooms[room.name] = emptyRoom(room.name);
        roomOrder.push(room.name);
        if (room.readUpTo) this.readUpTo.set(room.name, room.readUpTo);
      }
    }
    this.state = {
      session: saved ? { user: saved.user } : null,
      authError: null,
      connection: { status: 'offline', reason: 'signed_out' },
      rooms,
      roomOrder,
      activeRoom: null,
    };
  }

  // ------------------------------------------------------------ store API

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatState => this.state;

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
    this.network?.addEventListener('online', this.handleOnline);
    this.network?.addEventListener('offline', this.handleOffline);
    if (this.token) this.connectNow();
  }

  /** Closes the socket and every timer (page unload, tests). */
  stop(): void {
    this.started = false;
    this.network?.removeEventListener('online', this.handleOnline);
    this.network?.removeEventListener('offline', this.handleOffline);
    this.dropSocket();
    this.clearRetry();
    for (const timer of this.typingTimers.values()) clearTimeout(timer);
    this.typingTimers.clear();
  }

  /** The guest login (`POST /api/login`). */
  async login(name: string): Promise<void> {
    this.adoptSession(await this.api.login(name));
  }

  /** Starts a session with a token obtained elsewhere (an OpenID Connect ID token). */
  adoptSession({ token, user }: { token: string; user: User }): void {
    this.token = token;
    this.store.saveSession({ token, user });
    this.update({ session: { user }, authError: null });
    if (this.started) this.connectNow();
  }

  logout(): void {
    this.endSession(null, true);
  }

  /** Skips the backoff wait (a "retry now" button, or the page coming back). */
  reconnectNow(): void {
    if (!this.token || this.socket) return;
    this.connectNow();
  }

  // ------------------------------------------------------------ rooms

  /** Joins the room if needed and makes it the one the user is reading. */
  openRoom(room: string): boolean {
    if (!this.joinRoom(room)) return false;
    if (this.state.activeRoom !== room) this.update({ activeRoom: room });
    this.markRead(room);
    return true;
  }

  /** Joins the room in the background (its unread count grows) unless it is joined already. */
  joinRoom(room: string): boolean {
    if (!isRoomName(room) || !this.state.session) return false;
    if (!this.state.rooms[room]) {
      this.update({
        rooms: { ...this.state.rooms, [room]: emptyRoom(room) },
        roomOrder: [...this.state.roomOrder, room],
      });
      this.sendJoin(room);
      this.persistRooms();
    }
    return true;
  }

  leaveRoom(room: string): void {
    this.dropRoom(room, true);
  }

  /** Forgets a room the server will not (any longer) let us into; it is not joined again. */
  private closeRoom(room: string, reason: 'forbidden' | 'removed'): void {
    this.dropRoom(room, false);
    this.emit({ type: 'room-closed', room, reason });
  }

  private dropRoom(room: string, sayLeave: boolean): void {
    const current = this.state.rooms[room];
    if (!current) return;
    if (sayLeave && current.joined) this.write({ type: 'leave', room });
    for (const [ref, name] of this.joinRefs) if (name === room) this.joinRefs.delete(ref);
    const rooms = { ...this.state.rooms };
    delete rooms[room];
    const roomOrder = this.state.roomOrder.filter((name) => name !== room);
    for (const pending of current.pending) this.sentOn.delete(pending.ref);
    this.readUpTo.delete(room);
    this.synced.delete(room);
    this.clearTypingTimer(room);
    const activeRoom = this.state.activeRoom === room ? (roomOrder[0] ?? null) : this.state.activeRoom;
    this.update({ rooms, roomOrder, activeRoom });
    this.persistRooms();
  }

  /** Loads the page of history before the oldest message we have. */
  async loadOlder(room: string): Promise<void> {
    const current = this.state.rooms[room];
    const token = this.token;
    if (!current || !token || current.history.loading || current.history.exhausted) return;
    this.patchRoom(room, { history: { ...current.history, loading: true, error: undefined } });
    const limit = this.options.historyPageSize;
    try {
      const page = await this.api.messages(token, room, current.messages[0]?.id, limit);
      const latest = this.state.rooms[room];
      if (!latest || this.token !== token) return;
      this.patchRoom(room, {
        messages: mergeMessages(latest.messages, page.messages),
        history: { loading: false, exhausted: page.messages.length < limit },
      });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        this.endSession(SESSION_EXPIRED, false);
        return;
      }
      const latest = this.state.rooms[room];
      if (!latest) return;
      const message = error instanceof Error ? error.message : 'could not load history';
      this.patchRoom(room, { history: { loading: false, exhausted: false, error: message } });
    }
  }

  // ------------------------------------------------------------ sending

  /**
   * Shows the message at once as pending and sends it when the room is ready.
   * Returns an error (and keeps nothing) for text the server would refuse.
   */
  send(room: string, rawText: string): SendError | null {
    const current = this.state.rooms[room];
    if (!current) return { code: ErrorCode.notJoined, message: 'Join the room first.' };
    const text = normalizeText(rawText);
    if (text === '') return { code: ErrorCode.badRequest, message: 'The message is empty.' };
    if (codePointLength(text) > MAX_PENDING_TEXT) {
      return { code: 'too_long', message: `Messages are limited to ${MAX_PENDING_TEXT} characters.` };
    }
    const pending: PendingSend = { ref: this.nextRef('m'), room, text, createdAt: this.options.now(), status: 'pending' };
    // Receivers clear our typing indicator when our message arrives: the next keystroke may signal again.
    this.typingSentAt.delete(room);
    this.patchRoom(room, { pending: [...current.pending, pending] });
    this.flushPending(room);
    return null;
  }

  /** Sends a failed message again (under a new ref, so a late answer to the old one is ignored). */
  retry(room: string, ref: string): void {
    const current = this.state.rooms[room];
    const failed = current?.pending.find((p) => p.ref === ref);
    if (!current || !failed) return;
    this.sentOn.delete(ref);
    const again: PendingSend = { ...failed, ref: this.nextRef('m'), status: 'pending', error: undefined };
    this.patchRoom(room, { pending: current.pending.map((p) => (p.ref === ref ? again : p)) });
    this.flushPending(room);
  }

  discard(room: string, ref: string): void {
    const current = this.state.rooms[room];
    if (!current) return;
    this.sentOn.delete(ref);
    this.patchRoom(room, { pending: current.pending.filter((p) => p.ref !== ref) });
  }

  /** Call on every keystroke: at most one signal per throttle period goes out. */
  notifyTyping(room: string): void {
    if (!this.isReady(room)) return;
    const now = this.options.now();
    const last = this.typingSentAt.get(room);
    if (last !== undefined && now - last < this.options.typingThrottleMs) return;
    this.typingSentAt.set(room, now);
    this.write({ type: 'typing', room });
  }

  // ------------------------------------------------------------ socket

  private connectNow(): void {
    this.clearRetry();
    this.dropSocket();
    const token = this.token;
    if (!token) return;
    if (isTokenExpired(token, this.options.now())) {
      this.endSession(SESSION_EXPIRED, false);
      return;
    }
    if (this.network?.onLine === false) {
      this.setConnection({ status: 'offline', reason: 'network' });
      return;
    }
    const generation = ++this.generation;
    let opened = false;
    // The token rides in a subprotocol, not the URL (URLs end up in proxy logs); the server selects `roomcast`.
    const socket = new this.options.WebSocket(`${this.options.wsBase}/ws`, [WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX + token]);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (event) => {
      if (generation === this.generation && typeof event.data === 'string') this.handleFrame(event.data);
    };
    socket.onclose = (event) => {
      if (generation === this.generation) this.handleClose(event.code, opened);
    };
    socket.onerror = () => {
      // A close event always follows; that is where we decide what to do.
    };
    this.setConnection({ status: 'connecting', attempt: this.attempt });
  }

  /** Forgets the current socket: its late events are ignored from now on. */
  private dropSocket(): void {
    this.generation++;
    this.liveness.stop();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(CloseCode.normal);
      } catch {
        // Closing a socket that never opened may throw in some implementations.
      }
    }
    this.synced.clear();
    this.syncRefs.clear();
    this.joinRefs.clear();
    for (const timer of this.joinRetryTimers) clearTimeout(timer);
    this.joinRetryTimers.clear();
    this.markRoomsDisconnected();
  }

  private handleClose(code: number, opened: boolean): void {
    this.dropSocket();
    if (code === CloseCode.policyViolation) {
      this.endSession(SESSION_EXPIRED, false);
      return;
    }
    const token = this.token;
    if (!token) return;
    this.scheduleRetry();
    if (!opened) {
      // A browser cannot see the 401 of a refused upgrade; ask over HTTP whether the token is the problem.
      void this.api.tokenAccepted(token).then((accepted) => {
        if (accepted === false && this.token === token) this.endSession(SESSION_EXPIRED, false);
      });
    }
  }

  private scheduleRetry(): void {
    this.clearRetry();
    if (this.network?.onLine === false) {
      this.setConnection({ status: 'offline', reason: 'network' });
      return;
    }
    this.attempt++;
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.setConnection({ status: 'reconnecting', attempt: this.attempt, nextRetryAt: this.options.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connectNow();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private readonly handleOnline = (): void => {
    if (this.token && !this.socket) {
      this.attempt = 0;
      this.connectNow();
    }
  };

  private readonly handleOffline = (): void => {
    if (!this.token) return;
    this.clearRetry();
    this.dropSocket();
    this.setConnection({ status: 'offline', reason: 'network' });
  };

  private write(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || this.state.connection.status !== 'connected') return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  // ------------------------------------------------------------ frames in

  private handleFrame(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    this.applyFrame(frame);
    this.emit({ type: 'frame', frame });
  }

  private applyFrame(frame: ServerFrame): void {
    switch (frame.type) {
      case 'welcome':
        return this.onWelcome(frame);
      case 'joined':
        return this.onJoined(frame);
      case 'message':
        return this.onMessage(frame);
      case 'presence':
        return this.onPresence(frame);
      case 'typing':
        return this.onTyping(frame);
      case 'pong':
        return this.onPong(frame.ref);
      case 'error':
        return this.onError(frame);
      case 'removed':
        return this.onRemoved(frame);
    }
  }

  /** Nothing more of the room comes on this socket: close it rather than join it again. */
  private onRemoved(frame: RemovedFrame): void {
    if (this.state.rooms[frame.room]) this.closeRoom(frame.room, 'removed');
  }

  private onWelcome(frame: WelcomeFrame): void {
    this.attempt = 0;
    this.setConnection({ status: 'connected', node: frame.node, connectionId: frame.connectionId });
    for (const room of this.state.roomOrder) this.sendJoin(room);
    this.liveness.start(
      () => this.write({ type: 'ping', ref: this.nextRef('p') }),
      () => this.handleClose(1006, true),
    );
  }

  private sendJoin(room: string): void {
    const last = this.state.rooms[room]?.messages.at(-1)?.id;
    this.synced.delete(room);
    const ref = this.nextRef('j');
    if (this.write(last === undefined ? { type: 'join', room, ref } : { type: 'join', room, since: last, ref })) {
      this.joinRefs.set(ref, room);
    }
  }

  /** The server could not join us (e.g. its broker is down): say so, and try again a little later. */
  private onJoinRefused(room: string, error: SendError): void {
    this.patchRoom(room, { error });
    const generation = this.generation;
    const delay = this.options.joinRetryMs / 2 + this.options.random() * this.options.joinRetryMs;
    const timer = setTimeout(() => {
      this.joinRetryTimers.delete(timer);
      if (generation === this.generation && this.state.rooms[room] && !this.state.rooms[room].joined) this.sendJoin(room);
    }, delay);
    this.joinRetryTimers.add(timer);
  }

  private onJoined(frame: JoinedFrame): void {
    // Servers may or may not echo the join's ref: forget every join of this room in flight.
    for (const [ref, name] of this.joinRefs) if (name === frame.room) this.joinRefs.delete(ref);
    const room = this.state.rooms[frame.room];
    if (!room) return;
    this.joinedAt.set(frame.room, this.options.now());
    this.patchRoom(frame.room, { joined: true, users: frame.users, truncated: frame.truncated, error: undefined });
    // The replay follows `joined` on this socket; a pong to a ping sent now comes after it.
    // Only then do we know which pending sends were stored before we lost the old socket.
    const ref = this.nextRef('s');
    this.syncRefs.set(ref, frame.room);
    this.write({ type: 'ping', ref });
  }

  private onPong(ref: string | undefined): void {
    if (ref === undefined) return;
    const room = this.syncRefs.get(ref);
    if (room !== undefined) {
      this.syncRefs.delete(ref);
      this.synced.add(room);
      this.flushPending(room);
      return;
    }
    this.liveness.pong();
  }

  private onMessage(message: ChatMessage): void {
    const room = this.state.rooms[message.room];
    if (!room) return;
    const active = message.room === this.state.activeRoom;
    const me = this.state.session?.user.id;
    const next = applyMessage(room, message, (m) => !active && m.user.id !== me && this.isUnread(m));
    if (next === room) return;
    if (next.pending !== room.pending && message.ref !== undefined) this.sentOn.delete(message.ref);
    if (active && next.messages !== room.messages) {
      this.readUpTo.set(message.room, next.messages.at(-1)!.id);
      this.persistRooms();
    }
    this.replaceRoom(next);
  }

  private isUnread(message: ChatMessage): boolean {
    const marker = this.readUpTo.get(message.room);
    if (marker !== undefined) return compareIds(message.id, marker) > 0;
    // Never read: the replay of a first join is old news, what comes after is not.
    const joinedAt = this.joinedAt.get(message.room);
    return joinedAt !== undefined && message.ts >= joinedAt - CLOCK_SKEW_MS;
  }

  private onPresence(frame: PresenceFrame): void {
    const room = this.state.rooms[frame.room];
    if (room) this.replaceRoom(applyPresence(room, frame.joined, frame.left));
  }

  private onTyping(frame: TypingEvent): void {
    const room = this.state.rooms[frame.room];
    if (!room || frame.user.id === this.state.session?.user.id) return;
    this.replaceRoom(applyTyping(room, frame.user, this.options.now() + this.options.typingExpiryMs));
    this.scheduleTypingExpiry(frame.room);
  }

  /** One timer per room, for the indicator that expires first. */
  private scheduleTypingExpiry(room: string): void {
    this.clearTypingTimer(room);
    const typing = this.state.rooms[room]?.typing ?? [];
    if (typing.length === 0) return;
    const next = Math.min(...typing.map((t) => t.until));
    const timer = setTimeout(() => {
      this.typingTimers.delete(room);
      const current = this.state.rooms[room];
      if (!current) return;
      this.replaceRoom(dropExpiredTyping(current, this.options.now()));
      this.scheduleTypingExpiry(room);
    }, Math.max(0, next - this.options.now()));
    this.typingTimers.set(room, timer);
  }

  private clearTypingTimer(room: string): void {
    const timer = this.typingTimers.get(room);
    if (timer !== undefined) clearTimeout(timer);
    this.typingTimers.delete(room);
  }

  private onError(frame: ErrorFrame): void {
    if (frame.ref === undefined) return;
    const joining = this.joinRefs.get(frame.ref);
    if (joining !== undefined) {
      this.joinRefs.delete(frame.ref);
      // A private room: asking again will not help. Said once (by the membership module), not retried.
      if (frame.code === ErrorCode.forbidden) return this.closeRoom(joining, 'forbidden');
      this.onJoinRefused(joining, { code: frame.code, message: frame.message });
      return;
    }
    const error: SendError = { code: frame.code, message: frame.message };
    for (const room of Object.values(this.state.rooms)) {
      const next = markSendFailed(room, frame.ref, error);
      if (next === room) continue;
      this.sentOn.delete(frame.ref);
      this.replaceRoom(next);
      return;
    }
  }

  // ------------------------------------------------------------ pending sends

  private isReady(room: string): boolean {
    return this.state.connection.status === 'connected' && this.state.rooms[room]?.joined === true && this.synced.has(room);
  }

  /** Writes every pending send of the room that the current socket has not carried yet. */
  private flushPending(room: string): void {
    if (!this.isReady(room)) return;
    for (const pending of this.state.rooms[room]?.pending ?? []) {
      if (pending.status !== 'pending' || this.sentOn.get(pending.ref) === this.generation) continue;
      if (this.write({ type: 'send', room, text: pending.text, ref: pending.ref })) {
        this.sentOn.set(pending.ref, this.generation);
      }
    }
  }

  // ------------------------------------------------------------ state

  private endSession(authError: string | null, forgetRooms: boolean): void {
    this.token = null;
    this.clearRetry();
    this.dropSocket();
    this.attempt = 0;
    for (const room of this.typingTimers.keys()) this.clearTypingTimer(room);
    this.sentOn.clear();
    this.typingSentAt.clear();
    this.joinedAt.clear();
    if (forgetRooms) {
      this.store.clearAll();
      this.readUpTo.clear();
    } else {
      this.persistRooms();
      this.store.clearSession();
    }
    const rooms: Record<string, RoomState> = {};
    if (!forgetRooms) for (const name of this.state.roomOrder) rooms[name] = emptyRoom(name);
    this.update({
      session: null,
      authError,
      connection: { status: 'offline', reason: 'signed_out' },
      rooms,
      roomOrder: forgetRooms ? [] : this.state.roomOrder,
      activeRoom: null,
    });
  }

  private markRead(room: string): void {
    const current = this.state.rooms[room];
    if (!current) return;
    const last = current.messages.at(-1)?.id;
    if (last !== undefined) this.readUpTo.set(room, last);
    if (current.unread !== 0) this.patchRoom(room, { unread: 0 });
    this.persistRooms();
  }

  private markRoomsDisconnected(): void {
    let changed = false;
    const rooms: Record<string, RoomState> = {};
    for (const [name, room] of Object.entries(this.state.rooms)) {
      if (room.joined || room.typing.length > 0) {
        changed = true;
        rooms[name] = { ...room, joined: false, typing: [] };
        this.clearTypingTimer(name);
      } else {
        rooms[name] = room;
      }
    }
    if (changed) this.update({ rooms });
  }

  private persistRooms(): void {
    if (!this.token) return;
    this.store.saveRooms(this.state.roomOrder.map((name) => ({ name, readUpTo: this.readUpTo.get(name) })));
  }

  private setConnection(connection: ConnectionState): void {
    this.update({ connection });
  }

  private replaceRoom(next: RoomState): void {
    if (this.state.rooms[next.name] === next) return;
    this.update({ rooms: { ...this.state.rooms, [next.name]: next } });
  }

  private patchRoom(room: string, patch: Partial<RoomState>): void {
    const current = this.state.rooms[room];
    if (!current) return;
    this.update({ rooms: { ...this.state.rooms, [room]: { ...current, ...patch } } });
  }

  private update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  private emit(event: ChatEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  private nextRef(kind: string): string {
    return `${kind}${this.refPrefix}.${++this.refCounter}`;
  }
}
