import { describe, expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import type { Identity } from '../auth.js';
import { Connection } from './connection.js';
import { Corker } from './cork.js';

/** The part of a ws WebSocket a Connection touches, recording pings, terminations and sends. */
class FakeSocket {
  readonly OPEN = 1;
  readyState = 1;
  bufferedAmount = 0;
  pings = 0;
  terminated = false;
  readonly sent: unknown[] = [];

  ping(): void {
    this.pings++;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  send(data: unknown): void {
    this.sent.push(data);
  }
}

const limits = {
  maxBufferedBytes: 1 << 20,
  messages: { perSecond: 10, burst: 30 },
  typing: { perSecond: 10, burst: 30 },
  frames: { perSecond: 50, burst: 200 },
};

function open(): { connection: Connection; socket: FakeSocket } {
  const socket = new FakeSocket();
  const identity = { user: { id: 'u1', name: 'u1' }, expiresAt: Date.now() + 60_000 } as unknown as Identity;
  const connection = new Connection('c1', identity, socket as unknown as WebSocket, new Corker(), limits, () => undefined);
  return { connection, socket };
}

describe('Connection.keepAlive (once per ping interval)', () => {
  it('pings an idle socket every interval while it answers, and drops it once it does not', () => {
    const { connection, socket } = open();
    connection.keepAlive();
    expect(socket.pings).toBe(1);
    connection.heard = true; // the pong
    connection.keepAlive();
    expect(socket.pings).toBe(2);
    expect(socket.terminated).toBe(false);
    connection.keepAlive(); // no pong to the second ping
    expect(socket.terminated).toBe(true);
    expect(socket.pings).toBe(2);
  });

  it('does not ping a socket with frames both ways since the last interval', () => {
    const { connection, socket } = open();
    for (let tick = 0; tick < 5; tick++) {
      connection.heard = true; // a frame from the client
      connection.sendRaw('{"type":"message"}'); // a frame to it
      connection.keepAlive();
    }
    expect(socket.pings).toBe(0);
    expect(socket.terminated).toBe(false);
  });

  it('pings a socket with traffic one way only: no proxy may see either direction idle', () => {
    const inbound = open();
    inbound.connection.heard = true;
    inbound.connection.keepAlive();
    expect(inbound.socket.pings).toBe(1);

    const outbound = open();
    outbound.connection.sendRaw('{"type":"message"}');
    outbound.connection.keepAlive();
    expect(outbound.socket.pings).toBe(1);
  });

  it('drops a peer that went silent within two intervals, even while frames are still written to it', () => {
    const { connection, socket } = open();
    connection.heard = true;
    connection.sendRaw('{"type":"message"}');
    connection.keepAlive(); // busy: no ping
    connection.sendRaw('{"type":"message"}'); // the peer died: nothing heard from now on
    connection.keepAlive();
    expect(socket.pings).toBe(1);
    connection.sendRaw('{"type":"message"}');
    connection.keepAlive();
    expect(socket.terminated).toBe(true);
  });
});
