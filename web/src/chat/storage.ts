import { isRoomName, type User } from '@roomcast/server/protocol';

/** The part of the Web Storage API we use (sessionStorage in the browser). */
export interface KeyValueStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
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
    const value = this.read(SESSION_KEY);
    if (typeof value !== 'object' || value === null) return null;
    const { token, user } = value as Partial<SavedSession>;
    if (typeof token !== 'string' || typeof user?.id !== 'string' || typeof user.name !== 'string') return null;
    return { token, user: { id: user.id, name: user.name } };
  }

  saveSession(session: SavedSession): void {
    this.store?.setItem(SESSION_KEY, JSON.stringify(session));
  }

  loadRooms(): SavedRoom[] {
    const value = this.read(ROOMS_KEY);
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

  private read(key: string): unknown {
    const text = this.store?.getItem(key);
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch {
      return null;
    }
  }
}
