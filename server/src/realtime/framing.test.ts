import { describe, expect, it } from 'vitest';
import { textFrame } from './framing.js';

/** Decodes one unmasked server frame (RFC 6455 section 5.2). */
function decode(frame: Buffer): { fin: boolean; opcode: number; masked: boolean; payload: Buffer } {
  const fin = (frame[0]! & 0x80) !== 0;
  const opcode = frame[0]! & 0x0f;
  const masked = (frame[1]! & 0x80) !== 0;
  let length = frame[1]! & 0x7f;
  let offset = 2;
  if (length === 126) {
    length = frame.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    length = Number(frame.readBigUInt64BE(2));
    offset = 10;
  }
  expect(frame.length).toBe(offset + length);
  return { fin, opcode, masked, payload: frame.subarray(offset) };
}

describe('textFrame', () => {
  it.each([0, 1, 125, 126, 65535, 65536, 200_000])('frames a %i-byte payload as one unmasked text frame', (size) => {
    const payload = Buffer.alloc(size, 'x');
    const decoded = decode(textFrame(payload));
    expect(decoded).toMatchObject({ fin: true, opcode: 1, masked: false });
    expect(decoded.payload.equals(payload)).toBe(true);
  });

  it('keeps UTF-8 bytes as they are', () => {
    const payload = Buffer.from('{"text":"héllo 😀"}');
    expect(decode(textFrame(payload)).payload.toString()).toBe('{"text":"héllo 😀"}');
  });
});
