import { compareIds, type ChatMessage } from '@roomcast/server/protocol';

/**
 * Which of a room's messages are in the page. A room can hold thousands (all
 * the history the reader paged in); the list renders a window of a few
 * hundred around where the reader is, so that paging in, scrolling and new
 * messages cost the same in a room of 10,000 as in a room of 300.
 *
 * The window is kept by message ids, so it stays put when older pages or
 * live messages come in: `start` null means "from the oldest loaded" (older
 * pages appear in it as they arrive), `end` null means "to the newest"
 * (live messages appear in it).
 */
export interface MessageWindow {
  start: string | null;
  end: string | null;
}

/** Most messages in the page at once (plus one step of slack before trimming). */
export const WINDOW_SIZE = 300;
/** How many messages a window grows or shrinks by. */
export const WINDOW_STEP = 100;

export const NEWEST: MessageWindow = { start: null, end: null };

/** Index of the first message with an id ≥ `id`. */
function lowerBound(messages: readonly ChatMessage[], id: string): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareIds(messages[mid]!.id, id) < 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** Index after the last message with an id ≤ `id`. */
function upperBound(messages: readonly ChatMessage[], id: string): number {
  let low = 0;
  let high = messages.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (compareIds(messages[mid]!.id, id) <= 0) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The window for the range [from, to) of the messages: null at either end of what is loaded. */
function windowOf(messages: readonly ChatMessage[], from: number, to: number): MessageWindow {
  return { start: from <= 0 ? null : messages[from]!.id, end: to >= messages.length ? null : messages[to - 1]!.id };
}

/** The range [from, to) of the messages the window shows. */
export function windowRange(messages: readonly ChatMessage[], window: MessageWindow): { from: number; to: number } {
  const from = window.start === null ? 0 : lowerBound(messages, window.start);
  const to = window.end === null ? messages.length : upperBound(messages, window.end);
  // The messages it was about are gone (a truncated rejoin starts the list again): show the newest.
  if (to <= from && messages.length > 0) return { from: Math.max(0, messages.length - WINDOW_SIZE), to: messages.length };
  return { from, to };
}

/** Where a room opens: its newest messages, reaching back to the first unread one if that is not too far. */
export function initialWindow(messages: readonly ChatMessage[], firstUnread?: string): MessageWindow {
  let from = Math.max(0, messages.length - WINDOW_SIZE);
  if (firstUnread !== undefined) from = Math.min(from, Math.max(0, lowerBound(messages, firstUnread) - 10));
  return windowOf(messages, from, messages.length);
}

/** The newest messages (the reader jumps to the bottom). */
export function newestWindow(messages: readonly ChatMessage[]): MessageWindow {
  return windowOf(messages, Math.max(0, messages.length - WINDOW_SIZE), messages.length);
}

/** One step further up (older); what falls out of the size at the bottom goes. */
export function extendUp(messages: readonly ChatMessage[], window: MessageWindow): MessageWindow {
  const { from, to } = windowRange(messages, window);
  const start = Math.max(0, from - WINDOW_STEP);
  return windowOf(messages, start, Math.min(to, start + WINDOW_SIZE));
}

/** One step further down (newer); what falls out of the size at the top goes. */
export function extendDown(messages: readonly ChatMessage[], window: MessageWindow): MessageWindow {
  const { from, to } = windowRange(messages, window);
  const end = Math.min(messages.length, to + WINDOW_STEP);
  return windowOf(messages, Math.max(from, end - WINDOW_SIZE), end);
}

/**
 * A window that grew past its size plus a step (pages or live messages came
 * in) trimmed back to its size, dropping the side away from the reader;
 * null when it needs no trimming.
 */
export function trimmed(messages: readonly ChatMessage[], window: MessageWindow, keep: 'top' | 'bottom'): MessageWindow | null {
  const { from, to } = windowRange(messages, window);
  if (to - from <= WINDOW_SIZE + WINDOW_STEP) return null;
  return keep === 'top' ? windowOf(messages, from, from + WINDOW_SIZE) : windowOf(messages, to - WINDOW_SIZE, to);
}

export function sameWindow(a: MessageWindow, b: MessageWindow): boolean {
  return a.start === b.start && a.end === b.end;
}
