/**
 * nginx from the shared template in front of throwaway upstreams (node http +
 * ws), not the real server: what is tested here is the proxy.
 */
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { startNginx, type NginxHandle } from './nginx.js';

interface Upstream {
  id: string;
  port: number;
  /** Open WebSockets on this upstream. */
  sockets: number;
  close(): Promise<void>;
}

/** An upstream that answers /api/* with who it is and what it was sent, and echoes on /ws. */
async function startUpstream(id: string): Promise<Upstream> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        id,
        url: req.url,
        xForwardedFor: req.headers['x-forwarded-for'],
        xRealIp: req.headers['x-real-ip'],
        host: req.headers.host,
        connection: req.headers.connection,
      }),
    );
  });
  const wss = new WebSocketServer({ server, path: '/ws' });
  const upstream: Upstream = {
    id,
    port: 0,
    sockets: 0,
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  wss.on('connection', (socket) => {
    upstream.sockets++;
    socket.on('close', () => upstream.sockets--);
    socket.send(JSON.stringify({ type: 'hello', id }));
    socket.on('message', (data) => socket.send(`echo:${String(data)}`));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  upstream.port = (server.address() as AddressInfo).port;
  return upstream;
}

/** Opens a WebSocket and resolves with it and its first frame. */
async function connect(url: string): Promise<{ socket: WebSocket; hello: { id: string } }> {
  const socket = new WebSocket(url);
  const [data] = (await once(socket, 'message')) as [Buffer];
  return { socket, hello: JSON.parse(data.toString()) as { id: string } };
}

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('startNginx', () => {
  const sockets: WebSocket[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  let a: Upstream;
  let b: Upstream;

  beforeAll(async () => {
    [a, b] = await Promise.all([startUpstream('a'), startUpstream('b')]);
    cleanups.push(() => a.close(), () => b.close());
  });
  afterEach(async () => {
    await Promise.all(
      sockets.splice(0).map(async (socket) => {
        if (socket.readyState === WebSocket.CLOSED) return;
        socket.terminate();
        await once(socket, 'close');
      }),
    );
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function nginxFor(opts: Omit<Parameters<typeof startNginx>[0], 'runDir'>): Promise<NginxHandle> {
    const runDir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-nginx-test-'));
    const nginx = await startNginx({ ...opts, runDir });
    cleanups.push(async () => {
      await nginx.stop();
      await rm(runDir, { recursive: true, force: true });
    });
    return nginx;
  }

  it('proxies /api/ with forwarding headers, and nothing else of the replicas', async () => {
    const nginx = await nginxFor({ upstreams: [a.port] });
    const { status, body } = await getJson(`${nginx.url}/api/login?x=1`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ id: 'a', url: '/api/login?x=1', xForwardedFor: '127.0.0.1', xRealIp: '127.0.0.1' });
    // The browser's Host, port included: the replicas compare it with the Origin header.
    expect(body.host).toBe(`127.0.0.1:${nginx.port}`);

    // Health and metrics of the replicas are not for the public.
    for (const privatePath of ['/healthz', '/readyz', '/metrics']) {
      const res = await fetch(`${nginx.url}${privatePath}`);
      expect(res.status, privatePath).toBe(404);
      await res.arrayBuffer();
    }
  });

  it('upgrades /ws to a WebSocket that carries frames both ways', async () => {
    const nginx = await nginxFor({ upstreams: [a.port] });
    const { socket, hello } = await connect(`ws://127.0.0.1:${nginx.port}/ws?token=t`);
    sockets.push(socket);
    expect(hello).toEqual({ type: 'hello', id: 'a' });
    socket.send('ping');
    const [reply] = (await once(socket, 'message')) as [Buffer];
    expect(reply.toString()).toBe('echo:ping');
  });

  it('spreads long-lived sockets evenly (least_conn shared by two workers)', async () => {
    const nginx = await nginxFor({ upstreams: [a.port, b.port], workers: 2 });
    const seen = { a: 0, b: 0 };
    for (let i = 0; i < 10; i++) {
      const { socket, hello } = await connect(`ws://127.0.0.1:${nginx.port}/ws`);
      sockets.push(socket);
      seen[hello.id as 'a' | 'b']++;
    }
    expect(seen.a + seen.b).toBe(10);
    expect(Math.abs(seen.a - seen.b)).toBeLessThanOrEqual(1);
  });

  it('sends everything to the survivor when an upstream dies', async () => {
    const c = await startUpstream('c');
    const d = await startUpstream('d');
    cleanups.push(() => d.close());
    const nginx = await nginxFor({ upstreams: [c.port, d.port] });
    const { socket, hello } = await connect(`ws://127.0.0.1:${nginx.port}/ws`);
    sockets.push(socket);
    const closed = once(socket, 'close');
    await (hello.id === 'c' ? c : d).close();
    await closed;

    const survivor = hello.id === 'c' ? 'd' : 'c';
    if (survivor === 'c') cleanups.push(() => c.close());
    for (let i = 0; i < 6; i++) {
      const { status, body } = await getJson(`${nginx.url}/api/x`);
      expect(status).toBe(200);
      expect(body.id).toBe(survivor);
      const again = await connect(`ws://127.0.0.1:${nginx.port}/ws`);
      sockets.push(again.socket);
      expect(again.hello.id).toBe(survivor);
    }
  });

  it('serves the web client with a single-page-app fallback', async () => {
    const webRoot = await mkdtemp(path.join(os.tmpdir(), 'roomcast-web-test-'));
    cleanups.push(() => rm(webRoot, { recursive: true, force: true }));
    await mkdir(path.join(webRoot, 'assets'));
    await writeFile(path.join(webRoot, 'index.html'), '<!doctype html><title>Roomcast</title>');
    await writeFile(path.join(webRoot, 'assets', 'app-1234.js'), 'console.log(1)');
    const nginx = await nginxFor({ upstreams: [a.port], webRoot });

    for (const page of ['/', '/rooms/general', '/index.html']) {
      const res = await fetch(`${nginx.url}${page}`);
      expect(res.status, page).toBe(200);
      expect(await res.text(), page).toContain('<title>Roomcast</title>');
      expect(res.headers.get('cache-control'), page).toBe('no-cache');
    }
    const script = await fetch(`${nginx.url}/assets/app-1234.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(script.headers.get('cache-control')).toMatch(/immutable/);
    expect(await script.text()).toBe('console.log(1)');

    const missing = await fetch(`${nginx.url}/assets/nope.js`);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
  });

  it('answers 404 at / without a web client', async () => {
    const nginx = await nginxFor({ upstreams: [a.port] });
    const res = await fetch(`${nginx.url}/`);
    expect(res.status).toBe(404);
    await res.arrayBuffer();
  });
});
