/**
 * The floor: the least work a replica of Roomcast's topology can do, as a
 * yardstick for CPU per delivery. It speaks just enough of the wire contract
 * for the load generator (welcome, join → joined, send → message to the room,
 * sender included) and does nothing else: no token check, no validation, no
 * rate limit, no history, no presence, no ordering promise. A send becomes
 * one PUBLISH of the finished frame; every replica frames what it receives
 * once and writes it to its local members with Roomcast's own code
 * (server/src/realtime/framing.ts, then write-frame.ts: one `socket.write`
 * each, through the internal entry `@roomcast/server/internal/floor-peer`,
 * which exists for this file only).
 * Whatever this costs, any server in the same topology costs at least as much.
 *
 *  - POST /api/login → {token} (the token is ignored); GET /healthz → 200.
 *  - WebSocket at /ws. It selects the `roomcast` subprotocol when offered, as
 *    Roomcast does, and ignores the one that carries the token.
 *
 * Env: PORT, HOST (127.0.0.1), NODE_ID, REDIS_URL (absent: one process, local fan-out).
 * Run by the load-test tool after transpiling (see src/peer.ts); SIGTERM closes it.
 */
import { createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { framedTarget, textFrame, writeFrame } from '@roomcast/server/internal/floor-peer';
import { WS_SUBPROTOCOL } from '@roomcast/server/protocol';
import { Redis } from 'ioredis';
import * as ws from 'ws';

const port = Number(process.env.PORT ?? 3000);
const host = process.env.HOST ?? '127.0.0.1';
const nodeId = process.env.NODE_ID ?? `floor-${process.pid}`;
const redisUrl = process.env.REDIS_URL;

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' || req.url === '/api/login' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ token: 'floor', node: nodeId }));
});
const wss = new ws.WebSocketServer({
  server: http,
  path: '/ws',
  perMessageDeflate: false,
  handleProtocols: (protocols) => (protocols.has(WS_SUBPROTOCOL) ? WS_SUBPROTOCOL : false),
});

/** A member as Roomcast's broadcast writes to it: ws, and where frames go (see write-frame.ts). */
interface Member {
  ws: ws.WebSocket;
  to: Duplex | undefined;
}

/** Room → its local members. */
const rooms = new Map<string, Set<Member>>();
/** Room → its SUBSCRIBE, so that no join is confirmed before the channel is live. */
const subscriptions = new Map<string, Promise<unknown>>();
const pub = redisUrl ? new Redis(redisUrl) : undefined;
const sub = pub?.duplicate();

function fanOut(room: string, payload: Buffer): void {
  const members = rooms.get(room);
  if (!members) return;
  const frame = textFrame(payload);
  for (const member of members) writeFrame(member.ws, member.to, frame, payload);
}

sub?.on('messageBuffer', (channel: Buffer, payload: Buffer) => fanOut(channel.toString(), payload));

let seq = 0;
wss.on('connection', (socket, request) => {
  // The upgraded request's socket is the one ws runs on.
  const member: Member = { ws: socket, to: framedTarget(socket, request.socket) };
  const joined = new Set<string>();
  socket.send(JSON.stringify({ type: 'welcome', node: nodeId }));
  socket.on('message', async (data: Buffer) => {
    const frame = JSON.parse(data.toString()) as { type: string; room: string; text?: string; ref?: string };
    if (frame.type === 'join') {
      let members = rooms.get(frame.room);
      if (!members) rooms.set(frame.room, (members = new Set()));
      if (sub && !subscriptions.has(frame.room)) subscriptions.set(frame.room, sub.subscribe(frame.room));
      await subscriptions.get(frame.room);
      members.add(member);
      joined.add(frame.room);
      socket.send(JSON.stringify({ type: 'joined', room: frame.room, truncated: false, ref: frame.ref }));
    } else if (frame.type === 'send') {
      const ts = Date.now();
      const message = JSON.stringify({ type: 'message', room: frame.room, id: `${ts}-${seq++}`, ts, user: { id: 'floor', name: 'floor' }, text: frame.text, ref: frame.ref });
      if (pub) void pub.publish(frame.room, message);
      else fanOut(frame.room, Buffer.from(message));
    }
  });
  socket.on('close', () => {
    for (const room of joined) rooms.get(room)?.delete(member);
  });
});

http.listen(port, host, () => {
  process.stdout.write(`${JSON.stringify({ msg: 'listening', node: nodeId, port })}\n`);
});

process.on('SIGTERM', () => {
  wss.close();
  for (const client of wss.clients) client.terminate();
  pub?.disconnect();
  sub?.disconnect();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
