import { describe, expect, it } from 'vitest';
import {
  NEWEST,
  WINDOW_SIZE,
  WINDOW_STEP,
  extendDown,
  extendUp,
  initialWindow,
  newestWindow,
  trimmed,
  windowRange,
} from './message-window.js';
import { message } from './test-support/fakes.js';

const room = (count: number, first = 1) => Array.from({ length: count }, (_, i) => message('lobby', `${first + i}-0`));

describe('the window of messages in the page', () => {
  it('opens on the newest, at most its size, and follows them', () => {
    const messages = room(1000);
    const window = initialWindow(messages);
    expect(windowRange(messages, window)).toEqual({ from: 1000 - WINDOW_SIZE, to: 1000 });
    expect(window.end).toBeNull();
    // A live message joins it.
    const more = [...messages, message('lobby', '5000-0')];
    expect(windowRange(more, window)).toEqual({ from: 1000 - WINDOW_SIZE, to: 1001 });
  });

  it('reaches back to the first unread message', () => {
    const messages = room(1000);
    expect(windowRange(messages, initialWindow(messages, '501-0')).from).toBe(490);
    // A small room is shown whole.
    expect(initialWindow(room(40))).toEqual(NEWEST);
  });

  it('moves up a step at a time, leaving the newest behind once it is too big', () => {
    const messages = room(1000);
    let window = newestWindow(messages);
    window = extendUp(messages, window);
    expect(windowRange(messages, window)).toEqual({ from: 600, to: 900 });
    expect(window.end).toBe('900-0');
    // Live messages do not enter a window that left the newest behind.
    expect(windowRange([...messages, message('lobby', '5000-0')], window)).toEqual({ from: 600, to: 900 });
    window = extendDown(messages, window);
    expect(windowRange(messages, window)).toEqual({ from: 700, to: 1000 });
    expect(window.end).toBeNull();
  });

  it('takes in older pages that arrive at its top, then trims the side away from the reader', () => {
    let messages = room(300, 1001);
    const window = newestWindow(messages);
    expect(window.start).toBeNull();
    for (let page = 1; page <= 2; page++) messages = [...room(50, 1001 - 50 * page), ...messages];
    expect(windowRange(messages, window)).toEqual({ from: 0, to: 400 });
    // Up to a step over its size, it is left alone.
    expect(WINDOW_SIZE + WINDOW_STEP).toBe(400);
    expect(trimmed(messages, window, 'top')).toBeNull();
    messages = [...room(50, 851), ...messages];
    const readerAtTop = trimmed(messages, window, 'top')!;
    expect(windowRange(messages, readerAtTop)).toEqual({ from: 0, to: WINDOW_SIZE });
    const readerAtBottom = trimmed(messages, window, 'bottom')!;
    expect(windowRange(messages, readerAtBottom)).toEqual({ from: 450 - WINDOW_SIZE, to: 450 });
    expect(readerAtBottom.end).toBeNull();
  });

  it('shows the newest when the messages it was about are gone (a truncated rejoin)', () => {
    const window = extendUp(room(1000), newestWindow(room(1000)));
    expect(windowRange(room(5, 9000), window)).toEqual({ from: 0, to: 5 });
  });
});
