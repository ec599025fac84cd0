/**
 * What a real nginx, run from the shared template, writes to its logs when
 * clients put a token in the URL (legacy `/ws?token=`, or any `?token=` on
 * /api) and when they carry it in the Sec-WebSocket-Protocol header.
 *
 * The access log (format `roomcast`) never holds a token. nginx's error log
 * has a fixed format that cannot be changed: when an upstream resets or
 * refuses a connection it writes the full request line, query string
 * included, e.g.
 *
 *   [error] 123#123: *5 recv() failed (104: Connection reset by peer) while
 *   reading response header from upstream, client: 127.0.0.1, server: ,
 *   request: "GET /ws?token=SECRET-TOKEN-XYZ HTTP/1.1",
 *   upstream: "http://127.0.0.1:40123/ws?token=SECRET-TOKEN-XYZ", host: "127.0.0.1:40100"
 *
 * That is why the web client and the load-test tool send the token in the
 * Sec-WebSocket-Protocol header, and why the README says legacy clients can
 * still appear in the error log. The last test here pins that behaviour, so
 * the README is revisited if nginx ever changes it.
 */
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startNginx, type NginxHandle } from './nginx.js';
import { freePort } from './ports.js';
import { waitUntil } from './wait.js';

const SECRET = 'SECRET-TOKEN-XYZ';

/** An upstream that accepts TCP connections and resets each one at once (RST, no response). */
async function startResettingUpstream(): Promise<{ port: number; close(): Promise<void> }> {
  const server = net.createServer((socket) => socket.resetAndDestroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Sends a WebSocket upgrade request; resolves with the status of the plain HTTP answer (no upgrade). */
async function refusedUpgradeStatus(url: string): Promise<number> {
  const request = http.get(url, {
    headers: {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
    },
  });
  const [response] = (await once(request, 'response')) as [http.IncomingMessage];
  response.resume();
  await once(response, 'end');
  return response.statusCode ?? 0;
}

async function readLog(file: string): Promise<string> {
  return readFile(file, 'utf8').catch(() => '');
}

/** Waits until the log holds a line matching every pattern (nginx writes access lines when a request ends). */
async function waitForLine(file: string, ...patterns: RegExp[]): Promise<string> {
  await waitUntil(async () => (await readLog(file)).split('\n').some((line) => patterns.every((p) => p.test(line))), {
    what: `a line matching ${patterns.join(' and ')} in ${file}`,
    timeoutMs: 10_000,
  });
  return readLog(file);
}

describe('nginx logs and tokens', () => {
  const cleanups: Array<() => Promise<void>> = [];

  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function nginxFor(upstreams: number[]): Promise<NginxHandle> {
    const runDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-nginx-logs-'));
    const nginx = await startNginx({ upstreams, runDir });
    cleanups.push(async () => {
      await nginx.stop();
      await rm(runDir, { recursive: true, force: true });
    });
    return nginx;
  }

  describe.each([
    ['resets the connection', async (): Promise<number> => {
      const upstream = await startResettingUpstream();
      cleanups.push(() => upstream.close());
      return upstream.port;
    }],
    // A port nothing listens on: connect() is refused.
    ['refuses the connection', async (): Promise<number> => freePort()],
  ] as const)('when the upstream %s', (_label, upstreamPort) => {
    let nginx: NginxHandle;

    beforeAll(async () => {
      nginx = await nginxFor([await upstreamPort()]);
      const api = await fetch(`${nginx.url}/api/x?token=${SECRET}&room=general`);
      expect(api.status).toBe(502);
      await api.arrayBuffer();
      expect(await refusedUpgradeStatus(`${nginx.url}/ws?token=${SECRET}`)).toBe(502);
    });

    it('the access log has both requests, by path, and not the token', async () => {
      // Whatever the format, a line per request (with or without its query string).
      await waitForLine(nginx.accessLog, /GET \/api\/x\S* HTTP\/1\.1" 502 /);
      const log = await waitForLine(nginx.accessLog, /GET \/ws\S* HTTP\/1\.1" 502 /);
      expect(log).not.toContain(SECRET);
      expect(log).not.toContain('token=');
      expect(log).toMatch(/"GET \/api\/x HTTP\/1\.1" 502 /);
      expect(log).toMatch(/"GET \/ws HTTP\/1\.1" 502 /);
    });

    it('the error log still has the request line with the token (nginx’s fixed format: documented in the README)', async () => {
      const log = await waitForLine(nginx.errorLog, new RegExp(`request: "GET /ws\\?token=${SECRET} HTTP/1\\.1"`));
      expect(log).toContain(`request: "GET /api/x?token=${SECRET}&room=general HTTP/1.1"`);
    });
  });

  it('passes the token subprotocol through and keeps it out of the access log', async () => {
    const offered: string[][] = [];
    const server = http.createServer();
    const wss = new WebSocketServer({
      server,
      path: '/ws',
      // What the replicas do: select `roomcast`, never echo the bearer entry.
      handleProtocols: (protocols) => (protocols.has('roomcast') ? 'roomcast' : false),
    });
    wss.on('headers', (_headers, req) => offered.push(String(req.headers['sec-websocket-protocol']).split(/\s*,\s*/)));
    wss.on('connection', (socket) => socket.send('hello'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    });
    const nginx = await nginxFor([(server.address() as AddressInfo).port]);

    const socket = new WebSocket(`ws://127.0.0.1:${nginx.port}/ws`, ['roomcast', `roomcast.bearer.${SECRET}`]);
    const [hello] = (await once(socket, 'message')) as [Buffer];
    expect(hello.toString()).toBe('hello');
    expect(socket.protocol).toBe('roomcast');
    expect(offered).toEqual([['roomcast', `roomcast.bearer.${SECRET}`]]);
    socket.close();
    await once(socket, 'close');

    // The upgraded request is logged when the socket ends.
    const log = await waitForLine(nginx.accessLog, /GET \/ws\S* HTTP\/1\.1" 101 /);
    expect(log).not.toContain(SECRET);
  });
});
