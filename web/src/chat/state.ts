import type { ChatMessage, ErrorCode, User } from '@roomcast/server/protocol';

/** Where the socket is. `offline` means no socket and no retry planned. */
export type ConnectionState =
  | { status: 'connecting'; attempt: number }
  | { status: 'connected'; node: string; connectionId: string }
  | { status: 'reconnecting'; attempt: number; nextRetryAt: number }
  | { status: 'offline'; reason: 'signed_out' | 'network' };

export interface SendError {
  code: ErrorCode | 'too_long';
  message: string;
}

/** One of our own messages the server has not stored yet (or refused). */
export interface PendingSend {
  ref: string;
  room: string;
  text: string;
  createdAt: number;
  status: 'pending' | 'failed';
  error?: SendError;
}

export interface TypingUser {
  user: User;
  /** When the indicator goes away unless the user types again (epoch ms). */
  until: number;
}

export interface HistoryState {
  loading: boolean;
  /** Nothing older is retained. */
  exhausted: boolean;
  error?: string;
}

export interface RoomState {
  name: string;
  /** Sorted by id, never the same id twice. */
  messages: readonly ChatMessage[];
  pending: readonly PendingSend[];
  users: readonly User[];
  typing: readonly TypingUser[];
  /** Messages from others that arrived while the room was not open. */
  unread: number;
  /** The server confirmed the join on the current socket. */
  joined: boolean;
  /** Some messages we missed were trimmed from history and cannot be shown. */
  truncated: boolean;
  history: HistoryState;
  error?: SendError;
}

export interface Session {
  user: User;
}

export interface ChatState {
  session: Session | null;
  /** Why the user was sent back to the login screen, if they did not log out themselves. */
  authError: string | null;
  connection: ConnectionState;
  rooms: Readonly<Record<string, RoomState>>;
  /** Joined rooms, in the order they were joined. */
  roomOrder: readonly string[];
  activeRoom: string | null;
}

export function emptyRoom(name: string): RoomState {
  return {
    name,
    messages: [],
    pending: [],
    users: [],
    typing: [],
    unread: 0,
    joined: false,
    truncated: false,
    history: { loading: false, exhausted: false },
  };
}
