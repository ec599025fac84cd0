import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '@roomcast/server/protocol';
import { describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { messageBody, messageFrame } from '../../server/src/broker/broker.js';
import { RoomcastTransport } from './roomcast.js';
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

describe('RoomcastTransport.connect', () => {
  it('offers the token in Sec-WebSocket-Protocol, not in the URL, and accepts the server selecting roomcast', async () => {
    const offered: string[][] = [];
    const urls: Array<string | undefined> = [];
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (protocols, request) => {
        offered.push([...protocols]);
        urls.push(request.url);
        return protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false;
      },
    });
    await once(wss, 'listening');
    wss.on('connection', (ws) => ws.send(JSON.stringify({ type: 'welcome', node: 'n-test' })));
    try {
      const { port } = wss.address() as AddressInfo;
      const transport = new RoomcastTransport(`http://127.0.0.1:${port}`);
      const handlers = { onMessage: () => undefined, onAck: () => undefined, onError: () => undefined, onClose: () => undefined, onOther: () => undefined };
      const conn = await transport.connect('aaa.bbb-_.ccc', handlers, 5000);
      expect(conn.node).toBe('n-test');
      expect(offered).toEqual([[WS_SUBPROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}aaa.bbb-_.ccc`]]);
      expect(urls).toEqual(['/ws']);
      await conn.close();
    } finally {
      wss.close();
    }
  });
});
