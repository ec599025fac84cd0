/**
 * The Socket.IO 4 + @socket.io/redis-adapter peer that compare-peer measures
 * Roomcast against: the same behaviour fan-out needs, written the way a
 * Socket.IO user would write it.
 *
 *  - POST /api/login {name} → {token, user} (the token is just the name: this
 *    is a benchmark peer, not an auth server); GET /healthz → 200.
 *  - Socket.IO at path /ws (no trailing slash, so the same nginx `location = /ws`
 *    routes it), websocket transport only, auth {token}.
 *  - "welcome" {node} on connect; "join" {room} → ack {ok}; "send" {room,text,ref}
 *    → broadcast "message" to the room (sender included), ack {id};
 *    "typing" {room} → to the room's other sockets.
 *
 * Env: PORT, HOST (127.0.0.1), NODE_ID, REDIS_URL (absent: single process).
 * Run by the load-test tool after transpiling (see src/peer.ts); SIGTERM closes it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';

interface User {
  id: string;
  name: string;
}

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const nodeId = process.env.NODE_ID ?? `sio-${process.pid}`;
const redisUrl = process.env.REDIS_URL;
const ROOM = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function login(req: IncomingMessage, res: ServerResponse): void {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    let name: unknown;
    try {
      name = (JSON.parse(body) as { name?: unknown }).name;
    } catch {
      name = undefined;
    }
    if (typeof name !== 'string' || !name.trim()) {
      json(res, 400, { error: { code: 'bad_request', message: 'name required' } });
      return;
    }
    const user: User = { id: `u-${name.trim()}`, name: name.trim() };
    json(res, 200, { token: Buffer.from(JSON.stringify(user)).toString('base64url'), user });
  });
}

const http = createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/api/login') return login(req, res);
  if (req.url === '/healthz') return json(res, 200, { ok: true, node: nodeId });
  json(res, 404, { error: { code: 'not_found', message: 'not found' } });
});

const io = new Server(http, {
  path: '/ws',
  addTrailingSlash: false,
  serveClient: false,
  transports: ['websocket'],
  perMessageDeflate: false,
});

let pub: Redis | undefined;
let sub: Redis | undefined;
if (redisUrl) {
  pub = new Redis(redisUrl);
  sub = pub.duplicate();
  io.adapter(createAdapter(pub, sub));
}

io.use((socket, next) => {
  const token: unknown = (socket.handshake.auth as { token?: unknown }).token;
  try {
    const user = JSON.parse(Buffer.from(String(token), 'base64url').toString()) as User;
    if (typeof user.id !== 'string' || typeof user.name !== 'string') throw new Error('bad token');
    socket.data.user = user;
    next();
  } catch {
    next(new Error('unauthorized'));
  }
});

let seq = 0;
type Ack = (arg: object) => void;

io.on('connection', (socket) => {
  const user = socket.data.user as User;
  socket.emit('welcome', { node: nodeId, user });

  socket.on('join', (arg: { room?: unknown }, ack?: Ack) => {
    if (typeof arg?.room !== 'string' || !ROOM.test(arg.room)) return ack?.({ error: 'bad_request' });
    void socket.join(arg.room);
    ack?.({ ok: true });
  });

  socket.on('send', (arg: { room?: unknown; text?: unknown; ref?: unknown }, ack?: Ack) => {
    const room = arg?.room;
    if (typeof room !== 'string' || typeof arg.text !== 'string') return ack?.({ error: 'bad_request' });
    if (!socket.rooms.has(room)) return ack?.({ error: 'not_joined' });
    const text = arg.text.trim();
    if (!text) return ack?.({ error: 'bad_request' });
    const ts = Date.now();
    const id = `${ts}-${seq++}`;
    const message = { type: 'message', room, id, ts, user, text, ref: typeof arg.ref === 'string' ? arg.ref : undefined };
    io.to(room).emit('message', message);
    ack?.({ id });
  });

  socket.on('typing', (arg: { room?: unknown }) => {
    if (typeof arg?.room === 'string' && socket.rooms.has(arg.room)) socket.to(arg.room).emit('typing', { room: arg.room, user });
  });
});

http.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', node: nodeId, port })}\n`);
});

process.on('SIGTERM', () => {
  io.close();
  pub?.disconnect();
  sub?.disconnect();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
