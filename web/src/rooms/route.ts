import { isRoomName } from '@roomcast/server/protocol';

/** The first room a newcomer lands in. */
export const DEFAULT_ROOM = 'lobby';

/**
 * The room named by the page address: `#/room/<name>` (what the app writes)
 * or `?room=<name>` (handy in hand-written links). Null when none or invalid.
 */
export function roomFromLocation(location: { hash: string; search: string }): string | null {
  const match = /^#\/room\/([^/?#]+)$/.exec(location.hash);
  const candidate = match ? safeDecode(match[1]!) : new URLSearchParams(location.search).get('room');
  return candidate !== null && isRoomName(candidate) ? candidate : null;
}

export function roomHref(room: string): string {
  return `#/room/${room}`;
}

/**
 * Turns what someone typed into a room name when the intent is clear
 * ("#Dev Team" → "dev-team"); the result is still checked against the pattern.
 */
export function normalizeRoomInput(input: string): string {
  return input.trim().replace(/^#/, '').toLowerCase().replace(/\s+/g, '-');
}

function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
