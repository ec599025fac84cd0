import { compareIds, type ChatMessage } from '@roomcast/server/protocol';
import type { ChatStore } from './store.js';

/** Tolerance between the server's clock (message ts) and ours, for rooms never read. */
const CLOCK_SKEW_MS = 2000;

/** Whether the user can see the page at all (the browser: the tab is visible and the window focused). */
export interface Attention {
  readonly active: boolean;
  subscribe(listener: () => void): () => void;
}

/** For tests and non-browser use: always looking. */
export const ALWAYS_ATTENTIVE: Attention = { active: true, subscribe: () => () => undefined };

/**
 * What the user has read, and so what is unread.
 *
 * A room is being read when it is the open room, the page has the user's
 * attention (visible and focused) and its list is scrolled to the newest
 * message. A message from someone else that arrives while the room is not
 * being read is unread; its room keeps the first of them for the "New
 * messages" divider. When the room is being read again, everything in it is
 * read: the read marker moves to its newest message.
 *
 * The markers are kept here (and saved with the tab's rooms). Server-side
 * read markers (contract v2, section B) fit the same seams: `restore` takes
 * `joined.readUpTo` or a `read` frame from another socket, and `onMoved`
 * is where a `read` frame would be sent.
 */
export class UnreadState {
  /** Per room: the last id the user has seen (persisted), for unread counts. */
  private readonly readUpTo = new Map<string, string>();
  /** Per room: when the current join was confirmed, for rooms without a read marker. */
  private readonly joinedAt = new Map<string, number>();
  /** Per room: whether its list is scrolled to the newest message (as the view says). */
  private readonly atBottom = new Map<string, boolean>();
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: ChatStore,
    private readonly now: () => number,
    /** Called when a marker moved (the rooms list is saved again; later, the server is told). */
    private readonly onMoved: () => void,
    private readonly attention: Attention,
  ) {}

  start(): void {
    this.unsubscribe ??= this.attention.subscribe(() => {
      const room = this.store.state.activeRoom;
      if (room !== null && this.reading(room)) this.markRead(room);
    });
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  marker(room: string): string | undefined {
    return this.readUpTo.get(room);
  }

  /** A marker from elsewhere (storage, or later the server); it never moves back. */
  restore(room: string, id: string): void {
    const current = this.readUpTo.get(room);
    if (current === undefined || compareIds(id, current) > 0) this.readUpTo.set(room, id);
  }

  joined(room: string): void {
    this.joinedAt.set(room, this.now());
  }

  /** The user sees the room's newest messages as they arrive. */
  reading(room: string): boolean {
    return this.store.state.activeRoom === room && this.attention.active && this.atBottom.get(room) !== false;
  }

  isUnread(message: ChatMessage): boolean {
    const marker = this.readUpTo.get(message.room);
    if (marker !== undefined) return compareIds(message.id, marker) > 0;
    // Never read: the replay of a first join is old news, what comes after is not.
    const joinedAt = this.joinedAt.get(message.room);
    return joinedAt !== undefined && message.ts >= joinedAt - CLOCK_SKEW_MS;
  }

  /** A message was added to the room while the user was reading it. */
  seen(room: string, id: string): void {
    this.restore(room, id);
    this.onMoved();
  }

  /** The view scrolled to (or away from) the newest message. */
  setAtBottom(room: string, atBottom: boolean): void {
    if (this.atBottom.get(room) === atBottom) return;
    this.atBottom.set(room, atBottom);
    if (this.reading(room)) this.markRead(room);
  }

  /** The user opened `room`, coming from `previous`: what was read there needs no divider any more. */
  opened(room: string, previous: string | null): void {
    if (previous !== null && previous !== room) {
      const left = this.store.room(previous);
      if (left?.firstUnread !== undefined && left.unread === 0) this.store.patchRoom(previous, { firstUnread: undefined });
    }
    this.atBottom.delete(room);
    if (this.reading(room)) this.markRead(room);
  }

  /** Everything in the room has been read (the divider stays where it was). */
  markRead(room: string): void {
    const current = this.store.room(room);
    if (!current) return;
    const last = current.messages.at(-1)?.id;
    if (last !== undefined) this.restore(room, last);
    if (current.unread !== 0) this.store.patchRoom(room, { unread: 0 });
    this.onMoved();
  }

  /** The user wrote in the room: they have read it, and the divider has served. */
  wrote(room: string): void {
    this.markRead(room);
    if (this.store.room(room)?.firstUnread !== undefined) this.store.patchRoom(room, { firstUnread: undefined });
  }

  forget(room: string): void {
    this.readUpTo.delete(room);
    this.atBottom.delete(room);
  }

  /** The session ended: join times go; markers go too when the rooms are forgotten. */
  reset(forgetMarkers: boolean): void {
    this.joinedAt.clear();
    if (forgetMarkers) this.readUpTo.clear();
  }
}
