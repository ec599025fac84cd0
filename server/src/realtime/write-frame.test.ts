/**
 * The broadcast write path over real sockets: a `ws` server and a `ws`
 * client on loopback, over plain TCP, over TLS and with permessage-deflate.
 * Each check in write-frame.ts has a test that fails without it, and the TLS
 * test fails if frames ever bypass the socket's stream again (session 3
 * wrote them to the descriptor, which under TLS would send plaintext).
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { Connection } from './connection.js';
import { Corker } from './cork.js';
import { textFrame } from './framing.js';
import { framedTarget, writeFrame } from './write-frame.js';

/** A self-signed certificate for 127.0.0.1, made for this run. */
let tlsFiles: { key: Buffer; cert: Buffer };
beforeAll(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'roomcast-tls-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')],
      { stdio: 'ignore' },
    );
    tlsFiles = { key: readFileSync(path.join(dir, 'key.pem')), cert: readFileSync(path.join(dir, 'cert.pem')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Pair {
  /** The server side of the WebSocket, and the socket the 'upgrade' event gave. */
  ws: WebSocket;
  raw: Duplex;
  client: WebSocket;
  /** Every message the client got, in order (text as a string, binary as `bin:<length>`). */
  received: string[];
  /** Resolves once the client has `count` messages; rejects if its socket fails first. */
  until(count: number): Promise<string[]>;
}

const open: Array<() => void> = [];
afterEach(() => {
  for (const close of open.splice(0)) close();
  vi.restoreAllMocks();
});

async function wsPair(opts: { tls?: boolean; deflate?: boolean } = {}): Promise<Pair> {
  const server = opts.tls ? https.createServer(tlsFiles) : http.createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: opts.deflate ?? false });
  const accepted = new Promise<{ ws: WebSocket; raw: Duplex }>((resolve) => {
    server.on('upgrade', (request, socket, head) => wss.handleUpgrade(request, socket, head, (ws) => resolve({ ws, raw: socket })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const client = new WebSocket(`${opts.tls ? 'wss' : 'ws'}://127.0.0.1:${port}/`, { ca: tlsFiles.cert, perMessageDeflate: opts.deflate ?? false });
  const received: string[] = [];
  let failure: Error | undefined;
  const waiters = new Set<() => void>();
  const wake = (): void => waiters.forEach((w) => w());
  client.on('message', (data: RawData, isBinary: boolean) => {
    received.push(isBinary ? `bin:${(data as Buffer).length}` : data.toString());
    wake();
  });
  client.on('error', (err) => ((failure = err), wake()));
  client.on('close', (code) => ((failure ??= new Error(`client closed with ${code}`)), wake()));
  await once(client, 'open');
  const { ws, raw } = await accepted;
  open.push(() => {
    client.terminate();
    ws.terminate();
    server.close();
  });
  const until = (count: number): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (received.length >= count) resolve(received);
        else if (failure) reject(failure);
        else return;
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { ws, raw, client, received, until };
}

/** A message payload and its frame, as the hub builds them. */
function message(n: number, pad = 0): { payload: Buffer; frame: Buffer; text: string } {
  const text = JSON.stringify({ type: 'message', n, pad: 'x'.repeat(pad) });
  const payload = Buffer.from(text);
  return { payload, frame: textFrame(payload), text };
}

const limits = { maxBufferedBytes: 1 << 30, messages: { perSecond: 1000, burst: 1000 }, typing: { perSecond: 1000, burst: 1000 }, frames: { perSecond: 1000, burst: 1000 } };
const user = { id: 'u_1', name: 'ann' };

function connectionOf(pair: Pair, corker = new Corker(), passRaw = true): Connection {
  return new Connection('c1', { user, expiresAt: Date.now() + 60_000, admin: false }, pair.ws, corker, limits, () => undefined, passRaw ? pair.raw : undefined);
}

/** How many of `frames` went through the socket's stream (socket.write). */
function streamWrites(raw: Duplex, frames: Buffer[]): () => number {
  const spy = vi.spyOn(raw, 'write');
  return () => spy.mock.calls.filter(([chunk]) => frames.includes(chunk as Buffer)).length;
}

describe('framedTarget', () => {
  it('is the socket ws runs on, TLS included, unless compression was negotiated or the socket is unknown', async () => {
    const plain = await wsPair();
    expect(framedTarget(plain.ws, plain.raw)).toBe(plain.raw);
    const tls = await wsPair({ tls: true });
    expect(tls.raw.constructor.name).toBe('TLSSocket');
    expect(framedTarget(tls.ws, tls.raw)).toBe(tls.raw);
    const deflate = await wsPair({ deflate: true });
    expect(deflate.ws.extensions).toBe('permessage-deflate');
    expect(framedTarget(deflate.ws, deflate.raw)).toBeUndefined();
    expect(framedTarget(plain.ws, undefined)).toBeUndefined();
  });
});

/** Lets the Corker start a new tick, so that the next write is not corked. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('broadcast writes over real sockets', () => {
  it.each([
    ['plain TCP', false],
    ['TLS', true],
  ])('%s: each frame goes through the socket stream, and arrives intact', async (_, tls) => {
    const pair = await wsPair({ tls });
    const connection = connectionOf(pair);
    const messages = [1, 2, 3, 4].map((n) => message(n, n * 100));
    const viaStream = streamWrites(pair.raw, messages.map((m) => m.frame));
    const viaWs = vi.spyOn(pair.ws, 'send');
    for (const m of messages) {
      expect(connection.sendFramed(m.frame, m.payload)).toBe(true);
      await nextTurn();
    }
    // Over TLS "intact" means decrypted by the client: a frame written around the TLS layer would break the session.
    expect(await pair.until(4)).toEqual(messages.map((m) => m.text));
    expect(viaStream()).toBe(4);
    expect(viaWs).not.toHaveBeenCalled();
  });

  it('without the raw socket, frames go through ws.send', async () => {
    const pair = await wsPair({ tls: true });
    const connection = connectionOf(pair, new Corker(), false);
    const viaWs = vi.spyOn(pair.ws, 'send');
    const m = message(1);
    expect(connection.sendFramed(m.frame, m.payload)).toBe(true);
    expect(viaWs.mock.calls.map(([data]) => data)).toEqual([m.payload]);
    expect(await pair.until(1)).toEqual([m.text]);
  });

  it('permessage-deflate: frames go through ws.send, in order around a message being compressed', async () => {
    const pair = await wsPair({ deflate: true });
    const connection = connectionOf(pair);
    const viaWs = vi.spyOn(pair.ws, 'send');
    const [first, second] = [1, 2].map((n) => message(n, 10)) as [ReturnType<typeof message>, ReturnType<typeof message>];
    // Nothing pending yet: only the compression check sends this one through ws.
    expect(connection.sendFramed(first.frame, first.payload)).toBe(true);
    // Large enough to be compressed (ws's threshold is 1 KiB), which ws does asynchronously.
    const big = JSON.stringify({ type: 'history', pad: 'y'.repeat(64 * 1024) });
    connection.sendRaw(big);
    expect(pair.ws.bufferedAmount).toBeGreaterThan(0);
    expect(connection.sendFramed(second.frame, second.payload)).toBe(true);
    expect(viaWs.mock.calls.map(([data]) => data)).toEqual([first.payload, big, second.payload]);
    expect(await pair.until(3)).toEqual([first.text, big, second.text]);
  });

  it("a message held by ws's sender (a Blob being read) is not overtaken", async () => {
    const pair = await wsPair();
    pair.ws.send(new Blob([Buffer.alloc(1000, 1)]));
    // The sender holds the Blob's bytes; the socket's own queue is empty.
    expect(pair.ws.bufferedAmount).toBe(1000);
    expect(pair.raw.writableLength).toBe(0);
    const m = message(1);
    writeFrame(pair.ws, pair.raw, m.frame, m.payload);
    expect(await pair.until(2)).toEqual(['bin:1000', m.text]);
  });

  it('a backlog is counted by bufferedAmount, which slow-consumer shedding reads, and keeps its order', async () => {
    const pair = await wsPair();
    pair.client.pause(); // the peer stops reading: the kernel buffers fill, then the stream holds the rest
    const sent: string[] = [];
    for (let n = 0; pair.ws.bufferedAmount === 0; n++) {
      const m = message(n, 16 * 1024);
      sent.push(m.text);
      writeFrame(pair.ws, pair.raw, m.frame, m.payload);
      expect(n).toBeLessThan(10_000);
    }
    const queued = pair.ws.bufferedAmount;
    const late = message(1_000_000, 100);
    writeFrame(pair.ws, pair.raw, late.frame, late.payload);
    expect(pair.ws.bufferedAmount).toBe(queued + late.frame.length);
    sent.push(late.text);
    pair.client.resume();
    const got = await pair.until(sent.length);
    expect(got.length).toBe(sent.length);
    expect(got.findIndex((text, i) => text !== sent[i])).toBe(-1);
  });

  it("the Corker's coalesced writes of a tick wait for the uncork and keep their order", async () => {
    const pair = await wsPair();
    const connection = connectionOf(pair);
    const messages = [1, 2, 3, 4].map((n) => message(n));
    const viaStream = streamWrites(pair.raw, messages.map((m) => m.frame));
    for (const m of messages) connection.sendFramed(m.frame, m.payload);
    // The first write of the tick went out at once; the others wait, corked, for one writev.
    expect(viaStream()).toBe(4);
    expect(pair.raw.writableCorked).toBe(1);
    expect(pair.raw.writableLength).toBe(messages.slice(1).reduce((sum, m) => sum + m.frame.length, 0));
    expect(await pair.until(4)).toEqual(messages.map((m) => m.text));
  });
});
