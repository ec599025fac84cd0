import { describe, expect, it } from 'vitest';
import {
  LIMITS,
  codePointLength,
  compareIds,
  isMessageId,
  isRoomName,
  normalizeText,
  validateName,
} from './protocol.js';

describe('compareIds', () => {
  it('orders by ms first, then seq, numerically', () => {
    expect(compareIds('1-0', '2-0')).toBeLessThan(0);
    expect(compareIds('2-0', '1-99')).toBeGreaterThan(0);
    expect(compareIds('5-9', '5-10')).toBeLessThan(0);
    expect(compareIds('5-10', '5-9')).toBeGreaterThan(0);
    expect(compareIds('10-0', '9-0')).toBeGreaterThan(0);
    expect(compareIds('1700000000000-3', '1700000000000-3')).toBe(0);
  });

  it('compares numbers beyond 2^53 exactly', () => {
    // These two differ only past the precision of a double.
    expect(compareIds('9007199254740993-0', '9007199254740992-0')).toBeGreaterThan(0);
    expect(compareIds('1-18446744073709551615', '1-18446744073709551614')).toBeGreaterThan(0);
    expect(compareIds('18446744073709551615-0', '999-18446744073709551615')).toBeGreaterThan(0);
    expect(compareIds('1-18446744073709551615', '2-0')).toBeLessThan(0);
  });

  it('sorts a shuffled list into numeric order', () => {
    const sorted = ['0-0', '0-1', '9-5', '10-0', '10-2', '10-10', '100-0', '1700000000000-0', '1700000000001-0'];
    const shuffled = [...sorted].reverse();
    shuffled.push(shuffled.shift()!);
    expect([...shuffled].sort(compareIds)).toEqual(sorted);
  });
});

describe('isMessageId', () => {
  it('accepts <ms>-<seq> decimal ids', () => {
    for (const id of ['0-0', '1-0', '1700000000000-12', '18446744073709551615-18446744073709551615']) {
      expect(isMessageId(id), id).toBe(true);
    }
  });
  it('refuses anything else', () => {
    for (const id of ['', '1', '1-', '-1', '01-0', '1-01', 'a-b', '1-2-3', ' 1-2', '1.5-2', '+1-2', 1, null]) {
      expect(isMessageId(id), String(id)).toBe(false);
    }
  });
});

describe('isRoomName', () => {
  it('matches ^[a-z0-9][a-z0-9_-]{0,63}$', () => {
    for (const room of ['a', '0', 'general', 'room-1_b', 'a'.repeat(64)]) expect(isRoomName(room), room).toBe(true);
    for (const room of ['', '-a', '_a', 'A', 'a b', 'é', 'a'.repeat(65), 'a/b', 5]) {
      expect(isRoomName(room), String(room)).toBe(false);
    }
  });
});

describe('validateName', () => {
  it('trims white space and keeps the rest', () => {
    expect(validateName('  alice  ')).toEqual({ ok: true, name: 'alice' });
    expect(validateName('Ann Lee')).toEqual({ ok: true, name: 'Ann Lee' });
  });

  it('trims Unicode white space, not only ASCII', () => {
    // NBSP, ideographic space, en quad, line/paragraph separators.
    expect(validateName('\u00a0\u3000bob\u2000')).toEqual({ ok: true, name: 'bob' });
    expect(validateName('\u2028carol\u2029')).toEqual({ ok: true, name: 'carol' });
    expect(validateName('\t\n dave \r\n')).toEqual({ ok: true, name: 'dave' });
  });

  it('trims U+0085 NEXT LINE, which is Unicode White_Space', () => {
    // PROTOCOL.md: "Names are trimmed of Unicode white space". U+0085 has the
    // White_Space property but String.prototype.trim does not remove it.
    expect(validateName('\u0085erin\u0085')).toEqual({ ok: true, name: 'erin' });
  });

  it('accepts 1 to 32 code points, counted as code points', () => {
    expect(validateName('x')).toEqual({ ok: true, name: 'x' });
    expect(validateName('a'.repeat(32))).toEqual({ ok: true, name: 'a'.repeat(32) });
    // 32 astral characters are 64 UTF-16 units: still 32 code points.
    expect(validateName('😀'.repeat(32))).toEqual({ ok: true, name: '😀'.repeat(32) });
    expect(validateName('a'.repeat(33)).ok).toBe(false);
    expect(validateName('😀'.repeat(33)).ok).toBe(false);
    // Length counts after trimming.
    expect(validateName(`  ${'a'.repeat(32)}  `)).toEqual({ ok: true, name: 'a'.repeat(32) });
  });

  it('refuses blank names', () => {
    for (const name of ['', ' ', '\u3000\u00a0', '\n\t']) expect(validateName(name).ok, JSON.stringify(name)).toBe(false);
  });

  it('refuses control characters (category Cc) inside the name', () => {
    for (const name of ['a\u0000b', 'a\tb', 'a\nb', 'bell\u0007', 'del\u007f', 'c1\u0080x', 'c1\u009fx']) {
      expect(validateName(name).ok, JSON.stringify(name)).toBe(false);
    }
  });

  it('refuses non-strings', () => {
    for (const name of [undefined, null, 42, ['alice'], { name: 'alice' }]) expect(validateName(name).ok).toBe(false);
  });
});

describe('text helpers', () => {
  it('normalizeText trims Unicode white space', () => {
    expect(normalizeText('  hi there \u3000\n')).toBe('hi there');
    expect(normalizeText('\u00a0')).toBe('');
  });

  it('normalizeText trims U+0085 NEXT LINE (Unicode White_Space)', () => {
    // PROTOCOL.md: "Text is trimmed of Unicode white space"; "\u0085" alone is blank.
    expect(normalizeText('\u0085hi\u0085')).toBe('hi');
  });

  it('codePointLength counts code points, not UTF-16 units', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('abc')).toBe(3);
    expect(codePointLength('😀😀')).toBe(2);
    expect(codePointLength('é')).toBe(1);
  });

  it('has the contract limits', () => {
    expect(LIMITS.maxFrameBytes).toBe(65536);
    expect(LIMITS.maxTextCodePoints).toBe(4000);
    expect(LIMITS.maxNameCodePoints).toBe(32);
    expect(LIMITS.maxRefLength).toBe(64);
  });
});
