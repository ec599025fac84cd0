import { isRoomName, type User } from '@roomcast/server/protocol';

/** The part of the Web Storage API we use (sessionStorage in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * The JSON value stored under `key`; null when there is none, or when it
 * cannot be read (unparsable text, or a storage that refuses access).
 */
export function readJson(store: KeyValueStore | null, key: string): unknown {
  try {
    const text = store?.getItem(key);
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}

export interface SavedSession {
  token: string;
  user: User;
}

export interface SavedRoom {
  name: string;
  /** Last message id the user has seen in this room. */
  readUpTo?: string;
}

const SESSION_KEY = 'roomcast.session';
const ROOMS_KEY = 'roomcast.rooms';

/** What survives a reload of the tab: the token, and the rooms with read markers. */
export class SessionStore {
  constructor(private readonly store: KeyValueStore | null) {}

  loadSession(): SavedSession | null {
    const value = readJson(this.store, SESSION_KEY);
    if (typeof value !== 'object' || value === null) return null;
    const { token, user } = value as Partial<SavedSession>;
    if (typeof token !== 'string' || typeof user?.id !== 'string' || typeof user.name !== 'string') return null;
    return { token, user: { id: user.id, name: user.name } };
  }

  saveSession(session: SavedSession): void {
    this.store?.setItem(SESSION_KEY, JSON.stringify(session));
  }

  loadRooms(): SavedRoom[] {
    const value = readJson(this.store, ROOMS_KEY);
    if (!Array.isArray(value)) return [];
    return value.filter((room): room is SavedRoom => isRoomName((room as Partial<SavedRoom>)?.name));
  }

  saveRooms(rooms: SavedRoom[]): void {
    this.store?.setItem(ROOMS_KEY, JSON.stringify(rooms));
  }

  clearSession(): void {
    this.store?.removeItem(SESSION_KEY);
  }

  clearAll(): void {
    this.store?.removeItem(SESSION_KEY);
    this.store?.removeItem(ROOMS_KEY);
  }
}
