import { describe, expect, it } from 'vitest';
import { parseClientFrame, type ParseResult } from './frames.js';

const parse = (value: unknown): ParseResult => parseClientFrame(Buffer.from(JSON.stringify(value)), false);
const parseText = (text: string): ParseResult => parseClientFrame(Buffer.from(text), false);

function expectError(result: ParseResult, code: string, ref?: string): void {
  expect(result.ok).toBe(false);
  if (result.ok) return;
  expect(result.code).toBe(code);
  expect(typeof result.message).toBe('string');
  if (ref === undefined) expect('ref' in result).toBe(false);
  else expect(result.ref).toBe(ref);
}

function expectFrame(result: ParseResult): unknown {
  if (!result.ok) throw new Error(`expected a frame, got ${result.code}: ${result.message}`);
  return result.frame;
}

describe('parseClientFrame: what is not a frame', () => {
  it('refuses binary frames', () => {
    expectError(parseClientFrame(Buffer.from('{"type":"ping"}'), true), 'bad_request');
  });

  it('refuses text that is not JSON', () => {
    for (const text of ['', 'hello', '{"type":"ping"', "{'type':'ping'}", '\u0000']) {
      expectError(parseText(text), 'bad_request');
    }
  });

  it('refuses JSON that is not an object', () => {
    for (const value of [null, 1, 'ping', true, [], [{ type: 'ping' }]]) expectError(parse(value), 'bad_request');
  });

  it('refuses a missing or unknown type, echoing a valid ref', () => {
    expectError(parse({ ref: 'r1' }), 'bad_request', 'r1');
    expectError(parse({ type: 'shout', ref: 'r2' }), 'bad_request', 'r2');
    expectError(parse({ type: 42, ref: 'r3' }), 'bad_request', 'r3');
    // Inherited properties are not frame types.
    expectError(parse({ type: 'constructor', ref: 'r4' }), 'bad_request', 'r4');
    expectError(parse({ type: '__proto__' }), 'bad_request');
  });
});

describe('parseClientFrame: ref', () => {
  it('echoes a ref of 1 to 64 characters', () => {
    expect(expectFrame(parse({ type: 'ping', ref: 'x' }))).toEqual({ type: 'ping', ref: 'x' });
    const long = 'r'.repeat(64);
    expect(expectFrame(parse({ type: 'ping', ref: long }))).toEqual({ type: 'ping', ref: long });
    expect(expectFrame(parse({ type: 'ping' }))).toEqual({ type: 'ping' });
  });

  it('refuses an invalid ref with bad_request and no ref, whatever else is wrong', () => {
    for (const ref of ['', 'r'.repeat(65), 5, null, true, ['a'], { a: 1 }]) {
      expectError(parse({ type: 'ping', ref }), 'bad_request');
      expectError(parse({ type: 'send', room: 'Bad Room', text: '', ref }), 'bad_request');
      expectError(parse({ type: 'nope', ref }), 'bad_request');
    }
  });
});

describe('parseClientFrame: join, leave, typing', () => {
  it('accepts valid frames', () => {
    expect(expectFrame(parse({ type: 'join', room: 'general' }))).toEqual({ type: 'join', room: 'general' });
    expect(expectFrame(parse({ type: 'join', room: 'a', since: '1700000000000-0', ref: 'j' }))).toEqual({
      type: 'join',
      room: 'a',
      since: '1700000000000-0',
      ref: 'j',
    });
    expect(expectFrame(parse({ type: 'leave', room: 'r-1_x' }))).toEqual({ type: 'leave', room: 'r-1_x' });
    expect(expectFrame(parse({ type: 'typing', room: '0' }))).toEqual({ type: 'typing', room: '0' });
  });

  it('refuses missing or bad rooms, echoing the ref', () => {
    for (const type of ['join', 'leave', 'typing', 'send']) {
      for (const room of [undefined, '', 'General', '-x', '_x', 'a b', 'a'.repeat(65), 7, null]) {
        expectError(parse({ type, room, text: 'hi', ref: 'q' }), 'bad_request', 'q');
      }
    }
  });

  it('refuses a since that is not a message id', () => {
    for (const since of ['', 'abc', '1', '01-2', '1-2-3', 12, null]) {
      expectError(parse({ type: 'join', room: 'a', since, ref: 's' }), 'bad_request', 's');
    }
  });
});

describe('parseClientFrame: send', () => {
  it('returns the text trimmed of Unicode white space', () => {
    expect(expectFrame(parse({ type: 'send', room: 'a', text: ' \u3000 hello  world \n', ref: 'm' }))).toEqual({
      type: 'send',
      room: 'a',
      text: 'hello  world',
      ref: 'm',
    });
  });

  it('refuses a missing or non-string text', () => {
    for (const text of [undefined, 5, null, ['hi'], { t: 'hi' }]) {
      expectError(parse({ type: 'send', room: 'a', text, ref: 't' }), 'bad_request', 't');
    }
  });

  it('refuses blank text with bad_request', () => {
    for (const text of ['', '   ', '\n\t', '\u00a0\u3000']) {
      expectError(parse({ type: 'send', room: 'a', text, ref: 'b' }), 'bad_request', 'b');
    }
  });

  it('accepts 4000 code points and refuses 4001 with too_large', () => {
    expect(expectFrame(parse({ type: 'send', room: 'a', text: 'x'.repeat(4000) }))).toMatchObject({ text: 'x'.repeat(4000) });
    // 4000 astral characters are 8000 UTF-16 units: still allowed.
    expect(expectFrame(parse({ type: 'send', room: 'a', text: '😀'.repeat(4000) }))).toMatchObject({ type: 'send' });
    // White space around does not count.
    expect(expectFrame(parse({ type: 'send', room: 'a', text: `  ${'x'.repeat(4000)}  ` }))).toMatchObject({ type: 'send' });
    expectError(parse({ type: 'send', room: 'a', text: 'x'.repeat(4001), ref: 'L' }), 'too_large', 'L');
    expectError(parse({ type: 'send', room: 'a', text: '😀'.repeat(4001), ref: 'E' }), 'too_large', 'E');
  });
});

describe('parseClientFrame: input shapes', () => {
  it('reads fragmented (Buffer[]) and ArrayBuffer data', () => {
    const text = '{"type":"ping","ref":"frag"}';
    const parts = [Buffer.from(text.slice(0, 5)), Buffer.from(text.slice(5))];
    expect(expectFrame(parseClientFrame(parts, false))).toEqual({ type: 'ping', ref: 'frag' });
    const bytes = new TextEncoder().encode(text);
    const arrayBuffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    expect(expectFrame(parseClientFrame(arrayBuffer, false))).toEqual({ type: 'ping', ref: 'frag' });
  });

  it('decodes UTF-8 text', () => {
    expect(expectFrame(parse({ type: 'send', room: 'a', text: 'héllo 😀' }))).toMatchObject({ text: 'héllo 😀' });
  });
});
