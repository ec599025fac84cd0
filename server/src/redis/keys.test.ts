import { describe, expect, it } from 'vitest';
import { RedisKeys, decodePayload, encodeEvent } from './keys.js';

describe('RedisKeys', () => {
  it('puts every key of a room in one hash slot ({room}) and reads the room back from its channel', () => {
    const keys = new RedisKeys('rc');
    for (const key of [keys.channel('general'), keys.log('general'), keys.trimmed('general'), keys.presenceConnections('general'), keys.presenceUsers('general')]) {
      expect(key).toContain('{general}');
    }
    expect(keys.roomOf(keys.channel('room-1_x'))).toBe('room-1_x');
    expect(keys.roomOf('other:{general}')).toBeUndefined();
    expect(keys.roomOf('rc:{general}:log')).toBeUndefined();
  });

  it('keeps prefixes apart', () => {
    expect(new RedisKeys('a').channel('r')).not.toBe(new RedisKeys('b').channel('r'));
    expect(new RedisKeys('a').roomOf(new RedisKeys('b').channel('r'))).toBeUndefined();
  });
});

describe('pub/sub payloads', () => {
  it('round-trips events with and without skip, leaving the frame untouched', () => {
    const frame = '{"type":"typing","room":"r","user":{"id":"u","name":"line\\nbreak"}}';
    expect(decodePayload('r', encodeEvent(frame, 'conn-1'))).toEqual({ room: 'r', frame, skip: 'conn-1' });
    expect(decodePayload('r', encodeEvent(frame))).toEqual({ room: 'r', frame });
    // A frame that itself contains newlines (inside JSON strings they are escaped, but be safe).
    expect(decodePayload('r', encodeEvent('a\nb', 's'))).toEqual({ room: 'r', frame: 'a\nb', skip: 's' });
  });

  it('decodes stored messages with their id', () => {
    expect(decodePayload('r', 'm1700000000000-3\n{"type":"message"}')).toEqual({ room: 'r', frame: '{"type":"message"}', id: '1700000000000-3' });
  });

  it('ignores payloads it does not understand', () => {
    for (const payload of ['', 'x', 'zmeta\n{}', '\n{}']) expect(decodePayload('r', payload)).toBeUndefined();
  });
});
