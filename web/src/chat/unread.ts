import { compareIds, type ChatMessage } from '@roomcast/server/protocol';
import type { ChatStore } from './store.js';

/** Tolerance between the server's clock (message ts) and ours, for rooms never read. */
const CLOCK_SKEW_MS = 2000;

/**
 * What the user has read: per room the last message id they have seen (the
 * read marker), and from it which arriving messages count as unread.
 */
export class UnreadState {
  /** Per room: the last id the user has seen (persisted), for unread counts. */
  private readonly readUpTo = new Map<string, string>();
  /** Per room: when the current join was confirmed, for rooms without a read marker. */
  private readonly joinedAt = new Map<string, number>();

  constructor(
    private readonly store: ChatStore,
    private readonly now: () => number,
    /** Called when a marker moved, so that the rooms list is saved again. */
    private readonly persist: () => void,
  ) {}

  marker(room: string): string | undefined {
    return this.readUpTo.get(room);
  }

  /** A marker restored from storage. */
  restore(room: string, id: string): void {
    this.readUpTo.set(room, id);
  }

  joined(room: string): void {
    this.joinedAt.set(room, this.now());
  }

  isUnread(message: ChatMessage): boolean {
    const marker = this.readUpTo.get(message.room);
    if (marker !== undefined) return compareIds(message.id, marker) > 0;
    // Never read: the replay of a first join is old news, what comes after is not.
    const joinedAt = this.joinedAt.get(message.room);
    return joinedAt !== undefined && message.ts >= joinedAt - CLOCK_SKEW_MS;
  }

  /** A message was added to the room the user is reading. */
  seen(room: string, id: string): void {
    this.readUpTo.set(room, id);
    this.persist();
  }

  /** Everything in the room has been read. */
  markRead(room: string): void {
    const current = this.store.room(room);
    if (!current) return;
    const last = current.messages.at(-1)?.id;
    if (last !== undefined) this.readUpTo.set(room, last);
    if (current.unread !== 0) this.store.patchRoom(room, { unread: 0 });
    this.persist();
  }

  forget(room: string): void {
    this.readUpTo.delete(room);
  }

  /** The session ended: join times go; markers go too when the rooms are forgotten. */
  reset(forgetMarkers: boolean): void {
    this.joinedAt.clear();
    if (forgetMarkers) this.readUpTo.clear();
  }
}
