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

/**
 * One of our own messages the server has not stored yet (or refused for
 * good). Its ref is its identity: it is resent with the same ref until the
 * server answers, so it is never stored twice.
 */
export interface PendingSend {
  ref: string;
  room: string;
  text: string;
  createdAt: number;
  /** `pending`: will be sent (or is on its way); `failed`: the server refused it for good. */
  status: 'pending' | 'failed';
  /** Why it failed, or (while pending) why the last attempt did not go through. */
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
  /** Messages from others that arrived while the user was not reading the room. */
  unread: number;
  /** The first of those, for the "New messages" divider (kept after they are read, until the user moves on). */
  firstUnread?: string;
  /** The server confirmed the join on the current socket. */
  joined: boolean;
  /** Some messages we missed were trimmed from history and cannot be shown. */
  truncated: boolean;
  /** The incarnation of the room's log our messages belong to (`joined.epoch`). */
  epoch?: string;
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
