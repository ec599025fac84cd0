/**
 * Pure updates of one room's state, one per kind of server frame. Each
 * returns the same object when nothing changed, so React skips the render.
 */
import type { ChatMessage, User } from '@roomcast/server/protocol';
import { mergeMessages } from './messages.js';
import type { RoomState, SendError } from './state.js';

/**
 * Adds a message (once, in id order) and confirms our pending send carrying
 * its ref, whether the message arrived live or in a replay after a reconnect.
 * `isNews` says whether a message new to the list counts as unread.
 */
export function applyMessage(room: RoomState, message: ChatMessage, isNews: (message: ChatMessage) => boolean): RoomState {
  let next = room;
  if (message.ref !== undefined && room.pending.some((p) => p.ref === message.ref)) {
    next = { ...next, pending: room.pending.filter((p) => p.ref !== message.ref) };
  }
  const messages = mergeMessages(room.messages, [message]);
  if (messages === room.messages) return next;
  return {
    ...next,
    messages,
    // Their message is what they were typing.
    typing: room.typing.some((t) => t.user.id === message.user.id) ? room.typing.filter((t) => t.user.id !== message.user.id) : room.typing,
    unread: isNews(message) ? room.unread + 1 : room.unread,
  };
}

export function applyPresence(room: RoomState, joined: readonly User[], left: readonly User[]): RoomState {
  const gone = new Set(left.map((u) => u.id));
  const users = room.users.filter((u) => !gone.has(u.id));
  for (const user of joined) {
    if (!users.some((u) => u.id === user.id)) users.push(user);
  }
  return { ...room, users, typing: room.typing.filter((t) => !gone.has(t.user.id)) };
}

export function applyTyping(room: RoomState, user: User, until: number): RoomState {
  return { ...room, typing: [...room.typing.filter((t) => t.user.id !== user.id), { user, until }] };
}

export function dropExpiredTyping(room: RoomState, now: number): RoomState {
  const typing = room.typing.filter((t) => t.until > now);
  return typing.length === room.typing.length ? room : { ...room, typing };
}

export function markSendFailed(room: RoomState, ref: string, error: SendError): RoomState {
  if (!room.pending.some((p) => p.ref === ref)) return room;
  return { ...room, pending: room.pending.map((p) => (p.ref === ref ? { ...p, status: 'failed' as const, error } : p)) };
}
