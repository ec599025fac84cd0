/**
 * The broadcast write path over real sockets: a `ws` server and a `ws`
 * client on loopback, over plain TCP, over TLS and with permessage-deflate.
 * Each guard of the direct path has a test that fails without it.
 */
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { Connection } from './connection.js';
import { Corker } from './cork.js';
import { chooseWritePath, writeFrame } from './direct-write.js';
import { textFrame } from './framing.js';

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
  /** The client's own TCP socket. */
  clientRaw: Socket;
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
  let clientRaw: Socket | undefined;
  client.on('upgrade', (response: http.IncomingMessage) => (clientRaw = response.socket));
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
  return { ws, raw, client, clientRaw: clientRaw!, received, until };
}

/** A message payload and its frame, as the hub builds them. */
function message(n: number, pad = 0): { payload: Buffer; frame: Buffer; text: string } {
  const text = JSON.stringify({ type: 'message', n, pad: 'x'.repeat(pad) });
  const payload = Buffer.from(text);
  return { payload, frame: textFrame(payload), text };
}

const limits = { maxBufferedBytes: 1 << 30, messages: { perSecond: 1000, burst: 1000 }, frames: { perSecond: 1000, burst: 1000 } };
const user = { id: 'u_1', name: 'ann' };

function connectionOf(pair: Pair, corker = new Corker(), passRaw = true): Connection {
  return new Connection('c1', { user, expiresAt: Date.now() + 60_000, admin: false }, pair.ws, corker, limits, () => undefined, passRaw ? pair.raw : undefined);
}

/** The frames that went through the socket's stream (socket.write) rather than around it. */
function streamWrites(raw: Duplex, frames: Buffer[]): () => number {
  const spy = vi.spyOn(raw, 'write');
  return () => spy.mock.calls.filter(([chunk]) => frames.includes(chunk as Buffer)).length;
}

describe('chooseWritePath', () => {
  it('takes the direct path only for plain TCP without compression', async () => {
    const plain = await wsPair();
    expect(chooseWritePath(plain.ws, plain.raw)).toBe('direct');
    const tls = await wsPair({ tls: true });
    expect(tls.raw.constructor.name).toBe('TLSSocket');
    expect(chooseWritePath(tls.ws, tls.raw)).toBe('stream');
    const deflate = await wsPair({ deflate: true });
    expect(deflate.ws.extensions).toBe('permessage-deflate');
    expect(chooseWritePath(deflate.ws, deflate.raw)).toBe('ws');
  });

  it('refuses any socket that says it is encrypted, and an unknown socket', async () => {
    const { ws } = await wsPair();
    const wrapped = Object.assign(new Socket(), { encrypted: true });
    expect(chooseWritePath(ws, wrapped)).toBe('stream');
    // And a TLS socket even if it did not say so.
    const tls = Object.assign(new TLSSocket(new Socket()), { encrypted: false });
    expect(chooseWritePath(ws, tls)).toBe('stream');
    tls.destroy();
    expect(chooseWritePath(ws, undefined)).toBe('ws');
  });
});

describe('broadcast writes over real sockets', () => {
  it('plain TCP: frames go around the stream, one write(2) each, and arrive intact', async () => {
    const pair = await wsPair();
    const messages = [1, 2, 3].map((n) => message(n, n * 40));
    const viaStream = streamWrites(pair.raw, messages.map((m) => m.frame));
    const send = vi.spyOn(pair.ws, 'send');
    for (const m of messages) {
      writeFrame(pair.ws, pair.raw, 'direct', m.frame, m.payload);
      expect(pair.ws.bufferedAmount).toBe(0);
    }
    expect(await pair.until(3)).toEqual(messages.map((m) => m.text));
    expect(viaStream()).toBe(0);
    expect(send).not.toHaveBeenCalled();
  });

  it.each([
    ['given by the upgrade', true],
    ['found by the default', false],
  ])('TLS (socket %s): frames go through the TLS socket and arrive decrypted', async (_, passRaw) => {
    const pair = await wsPair({ tls: true });
    const connection = connectionOf(pair, new Corker(), passRaw);
    const messages = [1, 2, 3, 4].map((n) => message(n, n * 100));
    const viaStream = streamWrites(pair.raw, messages.map((m) => m.frame));
    // One per tick, so that the Corker never corks: the direct path would be open to each.
    for (const m of messages) {
      expect(connection.sendFramed(m.frame, m.payload)).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(await pair.until(4)).toEqual(messages.map((m) => m.text));
    expect(viaStream()).toBe(4);
  });

  it('permessage-deflate: frames go through ws.send, in order around a message being compressed', async () => {
    const pair = await wsPair({ deflate: true });
    const connection = connectionOf(pair);
    const viaWs = vi.spyOn(pair.ws, 'send');
    const [first, second] = [1, 2].map((n) => message(n, 10)) as [ReturnType<typeof message>, ReturnType<typeof message>];
    // Nothing pending yet: only the compression guard keeps this one off the descriptor.
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
    writeFrame(pair.ws, pair.raw, 'direct', m.frame, m.payload);
    expect(await pair.until(2)).toEqual(['bin:1000', m.text]);
  });

  it('a backlog in the stream is counted by bufferedAmount and not overtaken once the kernel has room again', async () => {
    const pair = await wsPair();
    pair.client.pause(); // the peer stops reading: the kernel buffers fill, then the stream holds the rest
    const sent: string[] = [];
    for (let n = 0; pair.raw.writableLength === 0; n++) {
      const m = message(n, 16 * 1024);
      sent.push(m.text);
      writeFrame(pair.ws, pair.raw, 'direct', m.frame, m.payload);
      expect(n).toBeLessThan(10_000);
    }
    const queued = pair.ws.bufferedAmount;
    expect(queued).toBeGreaterThan(0);
    const late = message(1_000_000, 100);
    writeFrame(pair.ws, pair.raw, 'direct', late.frame, late.payload);
    expect(pair.ws.bufferedAmount).toBe(queued + late.frame.length);
    sent.push(late.text);

    // The client reads again. Its first message arrives while the kernel has
    // room but our stream still holds its backlog: a direct write here would
    // jump ahead of the backlog.
    const last = message(2_000_000, 10);
    let backlogAtLast = -1;
    pair.client.once('message', () => {
      backlogAtLast = pair.raw.writableLength;
      writeFrame(pair.ws, pair.raw, 'direct', last.frame, last.payload);
    });
    sent.push(last.text);
    pair.client.resume();
    const got = await pair.until(sent.length);
    expect(backlogAtLast).toBeGreaterThan(0);
    expect(got.length).toBe(sent.length);
    expect(got.findIndex((text, i) => text !== sent[i])).toBe(-1);
  });

  it("the Corker's coalesced writes of a tick wait for the uncork and keep their order", async () => {
    const pair = await wsPair();
    const connection = connectionOf(pair);
    const messages = [1, 2, 3, 4].map((n) => message(n));
    const viaStream = streamWrites(pair.raw, messages.map((m) => m.frame));
    for (const m of messages) connection.sendFramed(m.frame, m.payload);
    // The first write of the tick went out directly; the others wait, corked, for one writev.
    expect(pair.raw.writableCorked).toBe(1);
    expect(viaStream()).toBe(3);
    expect(pair.raw.writableLength).toBe(messages.slice(1).reduce((sum, m) => sum + m.frame.length, 0));
    expect(await pair.until(4)).toEqual(messages.map((m) => m.text));
  });

  it('leaves a reset peer to the stream, which reports it, instead of throwing', async () => {
    const pair = await wsPair();
    const raw = pair.raw as Socket;
    const failed = new Promise<Error>((resolve) => raw.once('error', resolve));
    // Our side must not learn of the reset by reading: the write is what meets it.
    raw.pause();
    pair.clientRaw.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const m = message(1);
    expect(() => writeFrame(pair.ws, raw, 'direct', m.frame, m.payload)).not.toThrow();
    expect((await failed).message).toMatch(/EPIPE|ECONNRESET/);
  });
});
