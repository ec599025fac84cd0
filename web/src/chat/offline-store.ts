import { isMessageId, isRoomName, type ChatMessage, type User } from '@roomcast/server/protocol';
import type { PendingSend, SendError } from './state.js';
import { readJson, type KeyValueStore } from './storage.js';

/** What is kept of a room for a reload without the server: its last messages and who was there. */
export interface RoomSnapshot {
  messages: ChatMessage[];
  users: User[];
  /** The `joined.epoch` the messages belong to (sent back with `since`). */
  epoch?: string;
  savedAt: number;
}

/** Messages kept per room: enough to read the conversation, small enough for localStorage. */
export const SNAPSHOT_MESSAGES = 100;
/** Rooms kept per user; the least recently saved go first. */
export const SNAPSHOT_ROOMS = 20;

const PREFIX = 'roomcast.u.';

/**
 * The user's data that outlives the tab (localStorage, keyed by user id): the
 * outbox (sends the server has not confirmed), drafts, and each room's last
 * known state. Several tabs of one user may share it, so the outbox is
 * changed entry by entry (read, change one, write), never overwritten whole.
 * Storage errors (quota, private mode) lose the copy, never the session.
 */
export class OfflineStore {
  constructor(private readonly store: KeyValueStore | null) {}

  // ------------------------------------------------------------ outbox

  loadOutbox(user: string): PendingSend[] {
    return this.readArray(key(user, 'outbox')).filter(isPendingSend).sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Adds or replaces the entry with this ref. */
  putSend(user: string, send: PendingSend): void {
    const entries = this.loadOutbox(user).filter((entry) => entry.ref !== send.ref);
    const { ref, room, text, createdAt, status, error } = send;
    entries.push({ ref, room, text, createdAt, status, ...(error ? { error } : {}) });
    this.write(key(user, 'outbox'), entries);
  }

  removeSends(user: string, refs: readonly string[]): void {
    if (refs.length === 0) return;
    const entries = this.loadOutbox(user);
    const kept = entries.filter((entry) => !refs.includes(entry.ref));
    if (kept.length !== entries.length) this.write(key(user, 'outbox'), kept);
  }

  // ------------------------------------------------------------ drafts

  loadDrafts(user: string): Record<string, string> {
    const value = readJson(this.store, key(user, 'drafts'));
    const drafts: Record<string, string> = {};
    if (typeof value !== 'object' || value === null) return drafts;
    for (const [room, text] of Object.entries(value)) if (isRoomName(room) && typeof text === 'string' && text !== '') drafts[room] = text;
    return drafts;
  }

  saveDraft(user: string, room: string, text: string): void {
    const drafts = this.loadDrafts(user);
    if (text === '') delete drafts[room];
    else drafts[room] = text;
    this.write(key(user, 'drafts'), drafts);
  }

  // ------------------------------------------------------------ rooms' last known state

  loadSnapshot(user: string, room: string): RoomSnapshot | null {
    const value = readJson(this.store, key(user, `room.${room}`)) as Partial<RoomSnapshot> | null;
    if (typeof value !== 'object' || value === null || !Array.isArray(value.messages) || !Array.isArray(value.users)) return null;
    const messages = value.messages.filter((m): m is ChatMessage => isStoredMessage(m, room));
    const users = value.users.filter((u): u is User => typeof u?.id === 'string' && typeof u.name === 'string');
    return { messages, users, epoch: typeof value.epoch === 'string' ? value.epoch : undefined, savedAt: Number(value.savedAt) || 0 };
  }

  saveSnapshot(user: string, room: string, snapshot: RoomSnapshot): void {
    const index = this.readArray(key(user, 'rooms')).filter((name): name is string => isRoomName(name) && name !== room);
    index.unshift(room);
    for (const evicted of index.splice(SNAPSHOT_ROOMS)) this.store?.removeItem(key(user, `room.${evicted}`));
    this.write(key(user, 'rooms'), index);
    this.write(key(user, `room.${room}`), { ...snapshot, messages: snapshot.messages.slice(-SNAPSHOT_MESSAGES) });
  }

  removeSnapshot(user: string, room: string): void {
    this.store?.removeItem(key(user, `room.${room}`));
    const index = this.readArray(key(user, 'rooms'));
    if (index.includes(room)) this.write(key(user, 'rooms'), index.filter((name) => name !== room));
  }

  /** Forgets everything of the user (logout on a shared computer). */
  clear(user: string): void {
    for (const room of this.readArray(key(user, 'rooms'))) if (isRoomName(room)) this.store?.removeItem(key(user, `room.${room}`));
    for (const name of ['rooms', 'outbox', 'drafts']) this.store?.removeItem(key(user, name));
  }

  // ------------------------------------------------------------ internals

  private readArray(name: string): unknown[] {
    const value = readJson(this.store, name);
    return Array.isArray(value) ? value : [];
  }

  private write(name: string, value: unknown): void {
    try {
      this.store?.setItem(name, JSON.stringify(value));
    } catch {
      // Quota or private mode: the copy is lost, the session goes on.
    }
  }
}

function key(user: string, name: string): string {
  return `${PREFIX}${encodeURIComponent(user)}.${name}`;
}

function isPendingSend(value: unknown): value is PendingSend {
  const send = value as Partial<PendingSend> | null;
  return (
    typeof send?.ref === 'string' &&
    isRoomName(send.room) &&
    typeof send.text === 'string' &&
    typeof send.createdAt === 'number' &&
    (send.status === 'pending' || send.status === 'failed') &&
    (send.error === undefined || isSendError(send.error))
  );
}

function isSendError(value: unknown): value is SendError {
  const error = value as Partial<SendError> | null;
  return typeof error?.code === 'string' && typeof error.message === 'string';
}

function isStoredMessage(value: unknown, room: string): boolean {
  const m = value as Partial<ChatMessage> | null;
  return (
    m?.type === 'message' &&
    m.room === room &&
    isMessageId(m.id) &&
    typeof m.ts === 'number' &&
    typeof m.text === 'string' &&
    typeof m.user?.id === 'string' &&
    typeof m.user.name === 'string'
  );
}
