import { describe, expect, it } from 'vitest';
import { messageBody, messageFrame } from './broker.js';
import { trimBatch, trimSlack } from './history.js';

describe('trimBatch', () => {
  it('trims back to maxLen only once the log passes maxLen + maxLen/10', () => {
    expect(trimSlack(1000)).toBe(100);
    expect(trimBatch(1000, 1000)).toBe(0);
    expect(trimBatch(1100, 1000)).toBe(0);
    expect(trimBatch(1101, 1000)).toBe(101);
    expect(trimBatch(11, 10)).toBe(0);
    expect(trimBatch(12, 10)).toBe(2);
  });

  it('never keeps fewer than maxLen', () => {
    for (const maxLen of [1, 5, 10, 60, 1000]) {
      for (let length = 0; length < maxLen * 3; length++) expect(length - trimBatch(length, maxLen)).toBeGreaterThanOrEqual(Math.min(length, maxLen));
    }
  });
});

describe('message frames', () => {
  it('builds valid JSON with the fields in a fixed order, with or without ref', () => {
    const user = { id: 'u"1', name: 'Zoë \\ "Z"' };
    const withRef = messageFrame('room', '1700000000000-7', messageBody({ room: 'room', user, text: 'a\nb "c" 😀', ref: 'r1' }));
    expect(JSON.parse(withRef)).toEqual({ type: 'message', room: 'room', id: '1700000000000-7', ts: 1700000000000, user, text: 'a\nb "c" 😀', ref: 'r1' });
    expect(Object.keys(JSON.parse(withRef))).toEqual(['type', 'room', 'id', 'ts', 'user', 'text', 'ref']);
    const withoutRef = JSON.parse(messageFrame('room', '5-0', messageBody({ room: 'room', user, text: 't' })));
    expect('ref' in withoutRef).toBe(false);
    expect(withoutRef.ts).toBe(5);
  });
});
