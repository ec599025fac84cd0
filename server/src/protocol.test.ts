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

  it('names the offending control character', () => {
    expect(validateName('bell\u0007')).toEqual({ ok: false, message: 'name contains a control character U+0007' });
  });

  it('NFKC-normalizes, so fullwidth and compatibility forms are the plain name', () => {
    expect(validateName('ａｌｉｃｅ')).toEqual({ ok: true, name: 'alice' });
    expect(validateName('\ufb01ona')).toEqual({ ok: true, name: 'fiona' }); // the "ﬁ" ligature
    expect(validateName('Ｂｏｂ\u3000')).toEqual({ ok: true, name: 'Bob' });
    // Composed and decomposed é are one name.
    expect(validateName('Zoe\u0301')).toEqual(validateName('Zo\u00e9'));
    expect(validateName('Zoe\u0301')).toEqual({ ok: true, name: 'Zo\u00e9' });
  });

  it('counts the length after normalization', () => {
    // U+FDFA is one code point that NFKC expands to 18.
    expect(validateName('\ufdfa'.repeat(2))).toEqual({ ok: false, message: 'name is longer than 32 characters' });
    expect(validateName('ａ'.repeat(32))).toEqual({ ok: true, name: 'a'.repeat(32) });
  });

  it('refuses invisible and format characters, naming the code point', () => {
    const cases: Array<[string, string]> = [
      ['alice\u200b', 'U+200B'], // zero-width space
      ['al\u200cice', 'U+200C'], // zero-width non-joiner
      ['ali\u200dce', 'U+200D'], // zero-width joiner outside an emoji sequence
      ['alice\u2060', 'U+2060'], // word joiner
      ['\ufeffalice', 'U+FEFF'], // byte order mark
      ['al\u00adice', 'U+00AD'], // soft hyphen
      ['alice\u202e', 'U+202E'], // right-to-left override
      ['\u2066alice\u2069', 'U+2066'], // bidi isolates
      ['alice\u061c', 'U+061C'], // Arabic letter mark
      ['ali\u034fce', 'U+034F'], // combining grapheme joiner (default ignorable, not Cf)
      ['x\u3164', 'U+1160'], // Hangul filler, which NFKC maps to U+1160, also ignorable
      ['alice\ufe0f', 'U+FE0F'], // a variation selector after a letter
      ['a\u{e0041}', 'U+E0041'], // a tag character
    ];
    for (const [name, code] of cases) {
      expect(validateName(name), JSON.stringify(name)).toEqual({ ok: false, message: `name contains an invisible character ${code}` });
    }
  });

  it('refuses interior line and paragraph separators, private use, lone surrogates and unassigned code points', () => {
    expect(validateName('a\u2028b')).toEqual({ ok: false, message: 'name contains a line or paragraph separator U+2028' });
    expect(validateName('a\u2029b')).toEqual({ ok: false, message: 'name contains a line or paragraph separator U+2029' });
    expect(validateName('logo\ue000')).toEqual({ ok: false, message: 'name contains a private-use character U+E000' });
    expect(validateName('x\u{f0000}')).toEqual({ ok: false, message: 'name contains a private-use character U+F0000' });
    expect(validateName('a\ud800b')).toEqual({ ok: false, message: 'name contains a lone surrogate U+D800' });
    expect(validateName('a\udc00')).toEqual({ ok: false, message: 'name contains a lone surrogate U+DC00' });
    expect(validateName('a\u0378')).toEqual({ ok: false, message: 'name contains an unassigned character U+0378' });
    expect(validateName('a\uffff')).toEqual({ ok: false, message: 'name contains an unassigned character U+FFFF' });
  });

  it('keeps interior runs of white space', () => {
    expect(validateName(' Ann  Lee ')).toEqual({ ok: true, name: 'Ann  Lee' });
  });

  it('refuses a name mixing Latin with Cyrillic or Greek letters, and Cyrillic with Greek', () => {
    const mixes: Array<[string, string]> = [
      ['\u0430lice', 'Latin and Cyrillic'], // Cyrillic а
      ['p\u0430ypal', 'Latin and Cyrillic'],
      ['\u03bfscar', 'Latin and Greek'], // Greek ο
      ['\u0391\u0430', 'Cyrillic and Greek'], // Greek Α, Cyrillic а
      ['\u00b5alice', 'Latin and Greek'], // the micro sign is Greek μ after NFKC
    ];
    for (const [name, scripts] of mixes) {
      expect(validateName(name), JSON.stringify(name)).toEqual({ ok: false, message: `name mixes ${scripts} letters (a look-alike character?)` });
    }
  });

  it('accepts names in one script, with digits, punctuation and emoji', () => {
    for (const name of ['Иван', 'Αλέξης', '山田 太郎', 'ali_42', 'O\u2019Brien', 'Zoë Z', 'محمد', 'Ivan 2']) {
      expect(validateName(name), name).toEqual({ ok: true, name });
    }
  });

  it('allows the invisible characters of emoji sequences, and nowhere else', () => {
    // U+FE0F after an emoji (phone keyboards add it), U+200D between emoji, skin tones.
    for (const name of ['\u2764\ufe0f Anna', '\u{1f469}\u200d\u{1f4bb} dev', '\u{1f468}\u{1f3fd}\u200d\u{1f680}', '\u{1f3f3}\ufe0f\u200d\u{1f308}']) {
      expect(validateName(name), name).toEqual({ ok: true, name });
    }
    // A joiner after an emoji but before a letter is not an emoji sequence.
    expect(validateName('\u{1f600}\u200dalice')).toEqual({ ok: false, message: 'name contains an invisible character U+200D' });
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
