import { describe, expect, it } from 'vitest';
import { messageBody, messageFrame } from '../../server/src/broker/broker.js';
import { readMessageFrame } from './transport.js';

const user = { id: 'u_1', name: 'lt-0001' };

describe('readMessageFrame', () => {
  it("reads Roomcast's message frame as JSON.parse would", () => {
    for (const ref of ['r-17', undefined]) {
      const frame = messageFrame('room-1', '1700000000000-3', messageBody({ room: 'room-1', user, text: 'lt:run1:42:1700000000000123', ref }));
      const parsed = JSON.parse(frame) as { room: string; id: string; text: string; ref?: string };
      expect(readMessageFrame(frame)).toEqual({ room: parsed.room, id: parsed.id, text: parsed.text, ref: parsed.ref });
    }
  });

  it("reads the Socket.IO peer's message event from its offset", () => {
    const payload = { type: 'message', room: 'r', id: '1-2', ts: 1, user: { id: 'u-x', name: 'x' }, text: 'hello', ref: 'a' };
    const packet = `42["message",${JSON.stringify(payload)}]`;
    expect(readMessageFrame(packet, '42["message",'.length)).toEqual({ room: 'r', id: '1-2', text: 'hello', ref: 'a' });
  });

  it('leaves everything else to JSON.parse', () => {
    const escaped = messageFrame('r', '1-1', messageBody({ room: 'r', user, text: 'say "hi"' }));
    expect(escaped).toContain('\\"');
    expect(readMessageFrame(escaped)).toBeUndefined();
    expect(readMessageFrame('{"type":"presence","room":"r","joined":[],"left":[]}')).toBeUndefined();
    expect(readMessageFrame('{"type":"message","room":"r","ts":1,"id":"1-1","text":"x"}')).toBeUndefined();
    expect(readMessageFrame('{"type":"message","room":"r","id":"1-1"}')).toBeUndefined();
  });
});
