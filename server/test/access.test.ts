/**
 * Who may be where (contract v2, section A) against real processes: redis,
 * three replicas and nginx. Every path — each replica directly and through
 * nginx, sockets and HTTP — must give the same answer, with the contract's code.
 */
import { redisCommand } from '@roomcast/deploy/local';
import { describe, expect, it } from 'vitest';
import type { AddedFrame, ErrorFrame, MembersList, MessagesPage, PresenceFrame, RoomResponse } from '../src/protocol.js';
import { TestClient, isMessage, newRef } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { request, until } from './support/http.js';
import { mintToken, nowSeconds } from './support/tokens.js';

// The contract's default limits, not the loose ones other suites use.
const harness = useTestCluster({ RATE_LOGIN_PER_SEC: '10', RATE_LOGIN_BURST: '30', RATE_HTTP_WRITES_PER_SEC: '10', RATE_HTTP_WRITES_BURST: '30' });
const { clients } = harness;

interface TestUser {
  id: string;
  name: string;
  token: string;
}

let users = 0;
async function newUser(name: string, claims?: Record<string, unknown>): Promise<TestUser> {
  const id = `u_${name}_${process.pid}_${++users}`;
  return { id, name, token: await mintToken(harness.cluster.secret, { sub: id, name, exp: nowSeconds() + 3600, claims }) };
}

let rooms = 0;
const roomName = (label: string) => `${label}-${process.pid}-${++rooms}`;

const api = <T = unknown>(path: string, user: TestUser | undefined, opts: { method?: string; body?: unknown; headers?: Record<string, string>; base?: string } = {}) =>
  request<T>(opts.base ?? harness.cluster.url, path, { ...opts, token: user?.token });

/** Every way in: nginx, then each replica directly. */
function entryPoints(): Array<{ http: string; ws: string; label: string }> {
  const { cluster } = harness;
  return [
    { http: cluster.url, ws: cluster.wsUrl, label: 'nginx' },
    ...cluster.replicas.map((replica, i) => ({ http: replica.url, ws: replicaWsUrl(cluster, i), label: replica.nodeId })),
  ];
}

async function connect(user: TestUser, ws = harness.cluster.wsUrl, label = user.name): Promise<TestClient> {
  const client = await TestClient.connect(ws, user.token, label, 10_000, true);
  clients.add(client);
  return client;
}

async function createRoom(owner: TestUser, isPrivate: boolean, members: string[] = []): Promise<string> {
  const name = roomName(isPrivate ? 'private' : 'public');
  const res = await api<RoomResponse>('/api/rooms', owner, { body: { name, private: isPrivate, members } });
  expect(res.status).toBe(201);
  expect(res.body.room).toEqual({ name, private: isPrivate, role: 'owner' });
  return name;
}

function expectCode(res: { status: number; body: unknown }, status: number, code: string): void {
  expect({ status: res.status, code: (res.body as { error?: { code?: string } }).error?.code }).toEqual({ status, code });
}

describe('private rooms', () => {
  it('an outsider cannot join, read history, presence or members, post, or manage, through any entry point', async () => {
    const [owner, member, outsider] = await Promise.all([newUser('owner'), newUser('member'), newUser('outsider')]);
    const room = await createRoom(owner, true, [member.id]);
    const ownerSocket = await connect(owner);
    await ownerSocket.join(room);
    expect(isMessage(await ownerSocket.say(room, 'for members only'))).toBe(true);
    const memberSocket = await connect(member, replicaWsUrl(harness.cluster, 1));
    expect((await memberSocket.join(room)).users.map((u) => u.id).sort()).toEqual([owner.id, member.id].sort());

    for (const entry of entryPoints()) {
      const socket = await connect(outsider, entry.ws, `outsider via ${entry.label}`);
      const ref = newRef('join');
      socket.send({ type: 'join', room, since: '0-0', ref });
      expect((await socket.error(ref)).code).toBe('forbidden');
      socket.send({ type: 'send', room, text: 'let me in', ref: 'send-1' });
      expect((await socket.error('send-1')).code).toBe('not_joined');
      await socket.ping(); // a barrier: anything of the room would have come before the pong
      expect(socket.received.filter((f) => f.type !== 'error' && 'room' in f && f.room === room)).toEqual([]);

      const at = { base: entry.http };
      expectCode(await api(`/api/rooms/${room}/messages`, outsider, at), 403, 'forbidden');
      expectCode(await api(`/api/rooms/${room}/presence`, outsider, at), 403, 'forbidden');
      expectCode(await api(`/api/rooms/${room}/members`, outsider, at), 403, 'forbidden');
      expectCode(await api(`/api/rooms/${room}/messages`, outsider, { ...at, body: { text: 'spam' } }), 403, 'forbidden');
      expectCode(await api(`/api/rooms/${room}/members/${outsider.id}`, outsider, { ...at, method: 'PUT', body: { role: 'member' } }), 403, 'forbidden');
      expectCode(await api(`/api/rooms/${room}/members/${member.id}`, outsider, { ...at, method: 'DELETE' }), 403, 'forbidden');
    }

    // Nothing the outsider tried changed anything, and nobody saw them.
    const history = await api<MessagesPage>(`/api/rooms/${room}/messages`, member);
    expect(history.body.messages.map((m) => m.text)).toEqual(['for members only']);
    const members = await api<MembersList>(`/api/rooms/${room}/members`, member);
    expect(members.body.members.map((m) => [m.id, m.role]).sort()).toEqual([[owner.id, 'owner'], [member.id, 'member']].sort());
    await memberSocket.ping();
    expect(memberSocket.received.filter((f) => f.type === 'presence')).toEqual([]);
  });

  it('a member added later is told on every socket, and can then join', async () => {
    const [owner, late] = await Promise.all([newUser('owner'), newUser('late')]);
    const room = await createRoom(owner, true);
    const sockets = await Promise.all([0, 1, 2].map((i) => connect(late, replicaWsUrl(harness.cluster, i), `late on n${i + 1}`)));
    const res = await api(`/api/rooms/${room}/members/${late.id}`, owner, { method: 'PUT', body: { role: 'member' } });
    expect(res.status).toBe(200);
    for (const socket of sockets) {
      const added = await socket.next<AddedFrame>((f) => f.type === 'added');
      expect(added).toMatchObject({ room: { name: room, private: true, role: 'member' }, by: { id: owner.id, name: owner.name } });
    }
    expect((await sockets[2]!.join(room)).truncated).toBe(false);
  });

  it('a removed member is told on every replica within 1 s and gets nothing more of the room', async () => {
    const [owner, removed, stays] = await Promise.all([newUser('owner'), newUser('removed'), newUser('stays')]);
    const room = await createRoom(owner, true, [removed.id, stays.id]);
    const barrier = roomName('barrier');
    const removedSockets = await Promise.all([0, 1, 2].map((i) => connect(removed, replicaWsUrl(harness.cluster, i), `removed on n${i + 1}`)));
    for (const socket of removedSockets) {
      await socket.join(room);
      await socket.join(barrier);
    }
    const staying = await connect(stays, replicaWsUrl(harness.cluster, 0));
    await staying.join(room);
    const ownerSocket = await connect(owner);
    await ownerSocket.join(room);
    await ownerSocket.join(barrier);

    const res = await api(`/api/rooms/${room}/members/${removed.id}`, owner, { method: 'DELETE' });
    expect(res.status).toBe(204);
    // The contract's deadline: every socket of the removed user, on any replica, within 1 s.
    await Promise.all(removedSockets.map((socket) => socket.next((f) => f.type === 'removed' && f.room === room, 1000, `removed from ${room}`)));
    const left = await staying.next<PresenceFrame>((f) => f.type === 'presence' && f.room === room && f.left.length > 0);
    expect(left.left.map((u) => u.id)).toEqual([removed.id]);

    // Published after the removal: reaches the others, never the removed user (the barrier room's message comes after it).
    await ownerSocket.say(room, 'after the removal');
    await ownerSocket.say(barrier, 'barrier');
    await staying.next((f) => isMessage(f) && f.text === 'after the removal');
    for (const socket of removedSockets) {
      await socket.next((f) => isMessage(f) && f.text === 'barrier');
      const afterRemoval = socket.received.slice(socket.received.findIndex((f) => f.type === 'removed'));
      expect(afterRemoval.filter((f) => 'room' in f && f.room === room && f.type !== 'removed')).toEqual([]);
      const ref = newRef('rejoin');
      socket.send({ type: 'join', room, ref });
      expect((await socket.error(ref)).code).toBe('forbidden');
    }
    expectCode(await api(`/api/rooms/${room}/messages`, removed), 403, 'forbidden');
  });

  it('roles: admins manage, nobody else removes or demotes the owner, anyone may leave', async () => {
    const [owner, admin, member] = await Promise.all([newUser('owner'), newUser('admin'), newUser('member')]);
    const room = await createRoom(owner, true, [member.id]);
    expect((await api(`/api/rooms/${room}/members/${admin.id}`, owner, { method: 'PUT', body: { role: 'admin' } })).status).toBe(200);
    expectCode(await api(`/api/rooms/${room}/members/${owner.id}`, admin, { method: 'DELETE' }), 403, 'forbidden');
    expectCode(await api(`/api/rooms/${room}/members/${owner.id}`, admin, { method: 'PUT', body: { role: 'member' } }), 403, 'forbidden');
    expectCode(await api(`/api/rooms/${room}/members/${admin.id}`, member, { method: 'DELETE' }), 403, 'forbidden');
    expectCode(await api(`/api/rooms/${room}/members/${member.id}`, admin, { method: 'PUT', body: { role: 'owner' } }), 400, 'bad_request');
    expect((await api(`/api/rooms/${room}/members/${member.id}`, member, { method: 'DELETE' })).status).toBe(204);
    expectCode(await api(`/api/rooms/${room}/members/${member.id}`, admin, { method: 'DELETE' }), 404, 'not_found');
    expectCode(await api('/api/rooms', owner, { body: { name: room, private: true } }), 409, 'conflict');
  });
});

describe('direct messages', () => {
  it('are one private room from both sides, announced to the peer, closed to everyone else', async () => {
    const [ann, ben, eve] = await Promise.all([newUser('ann'), newUser('ben'), newUser('eve')]);
    const benSocket = await connect(ben, replicaWsUrl(harness.cluster, 2));
    const first = await api<RoomResponse>('/api/dm', ann, { body: { user: ben.id } });
    expect(first.status).toBe(201);
    const dm = first.body.room.name;
    expect(first.body.room).toMatchObject({ private: true, role: 'member', peer: ben.id });
    const added = await benSocket.next<AddedFrame>((f) => f.type === 'added');
    expect(added.room).toMatchObject({ name: dm, peer: ann.id });
    const back = await api<RoomResponse>('/api/dm', ben, { body: { user: ann.id } });
    expect({ status: back.status, name: back.body.room.name }).toEqual({ status: 200, name: dm });
    expect((await api<RoomResponse>('/api/dm', ann, { body: { user: ben.id } })).body.room.name).toBe(dm);
    expectCode(await api('/api/dm', ann, { body: { user: ann.id } }), 400, 'bad_request');

    const annSocket = await connect(ann, replicaWsUrl(harness.cluster, 0));
    await annSocket.join(dm);
    await benSocket.join(dm);
    const sent = await annSocket.say(dm, 'just us');
    expect(isMessage(sent)).toBe(true);
    await benSocket.next((f) => isMessage(f) && f.text === 'just us');

    const eveSocket = await connect(eve);
    const ref = newRef('dm');
    eveSocket.send({ type: 'join', room: dm, ref });
    expect((await eveSocket.error(ref)).code).toBe('forbidden');
    expectCode(await api(`/api/rooms/${dm}/messages`, eve), 403, 'forbidden');
    // The dm- names are reserved: nobody makes one a public room.
    expectCode(await api('/api/rooms', eve, { body: { name: 'dm-mine' } }), 400, 'bad_request');
    const guessed = newRef('guess');
    eveSocket.send({ type: 'join', room: 'dm-0000', ref: guessed });
    expect((await eveSocket.error(guessed)).code).toBe('forbidden');
    expect((await api<{ rooms: Array<{ name: string }> }>('/api/rooms', ben)).body.rooms.map((r) => r.name)).toContain(dm);
  });
});

describe('token claims', () => {
  it('admin tokens read and post everywhere; a rooms claim limits the token to its rooms', async () => {
    const owner = await newUser('owner');
    const room = await createRoom(owner, true);
    const admin = await newUser('moderator', { admin: true });
    const adminSocket = await connect(admin);
    await adminSocket.join(room);
    expect(isMessage(await adminSocket.say(room, 'moderator here'))).toBe(true);
    expect((await api(`/api/rooms/${room}/members`, admin)).status).toBe(200);

    const scoped = await newUser('scoped', { rooms: ['team-*', 'lobby'] });
    const socket = await connect(scoped);
    await socket.join(`team-${process.pid}`);
    await socket.join('lobby');
    const ref = newRef('scope');
    socket.send({ type: 'join', room: 'elsewhere', ref });
    expect((await socket.error(ref)).code).toBe('forbidden');
    expectCode(await api('/api/rooms/elsewhere/messages', scoped), 403, 'forbidden');
  });
});

describe('origin and the token off the URL', () => {
  it('a foreign Origin is refused with 403 before any socket opens, and on every API route', async () => {
    const user = await newUser('origin');
    const foreign = { origin: 'http://evil.example' };
    for (const entry of entryPoints()) {
      const refusal = await TestClient.refusal(entry.ws, user.token, 10_000, { headers: foreign });
      expect(refusal.status).toBe(403);
      expect(JSON.parse(refusal.body).error.code).toBe('forbidden');
      expectCode(await api('/api/rooms/lobby/messages', user, { base: entry.http, headers: foreign }), 403, 'forbidden');
      expectCode(await api('/api/login', undefined, { base: entry.http, headers: foreign, body: { name: 'x' } }), 403, 'forbidden');
    }
    // The page's own origin passes (nginx forwards the Host with its port).
    const own = new URL(harness.cluster.url).origin;
    expect((await api('/api/rooms/lobby/messages', user, { headers: { origin: own } })).status).toBe(200);
    const ws = await TestClient.connect(harness.cluster.wsUrl, user.token, 'same origin', 10_000, true);
    clients.add(ws);
  });

  it('the token travels in Sec-WebSocket-Protocol; the server selects "roomcast", never the token', async () => {
    const user = await newUser('proto');
    const client = await connect(user);
    expect(client.ws.protocol).toBe('roomcast');
    expect(client.welcome.user.id).toBe(user.id);
    const alone = await TestClient.refusal(harness.cluster.wsUrl, undefined, 10_000, { protocols: [`roomcast.bearer.${user.token}`] });
    expect(alone.status).toBe(400);
    const forged = await TestClient.refusal(harness.cluster.wsUrl, undefined, 10_000, { protocols: ['roomcast', `roomcast.bearer.${user.token}x`] });
    expect(forged.status).toBe(401);
  });
});

describe('limits on HTTP writes', () => {
  it('120 writes from one token within a second are refused in part with 429, and a refused write stores nothing', async () => {
    const user = await newUser('flood');
    const room = roomName('flood');
    const results = await Promise.all(Array.from({ length: 120 }, (_, i) => api(`/api/rooms/${room}/messages`, user, { body: { text: `m${i}` } })));
    const created = results.filter((r) => r.status === 201).length;
    const refused = results.filter((r) => r.status === 429);
    expect(created).toBeGreaterThanOrEqual(30);
    expect(refused.length).toBeGreaterThan(0);
    expect(created + refused.length).toBe(120);
    for (const res of refused) {
      expectCode(res, 429, 'rate_limited');
      // When to come back: 10 writes/s refill a token well within a second, said as the smallest whole second.
      expect(res.headers.get('retry-after')).toBe('1');
    }
    const history = await api<MessagesPage>(`/api/rooms/${room}/messages?limit=100`, user);
    expect(history.body.messages).toHaveLength(created);
  });

  it('logins are limited per client address', async () => {
    const results = await Promise.all(Array.from({ length: 80 }, (_, i) => api('/api/login', undefined, { body: { name: `guest ${i}` } })));
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(30);
    const refused = results.filter((r) => r.status === 429);
    expect(refused.length).toBeGreaterThan(0);
    for (const res of refused) {
      expectCode(res, 429, 'rate_limited');
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('bad input is bad_request, never a broker error', () => {
  it('ids beyond 64 bits, before=0-0 and over-long room names', async () => {
    const user = await newUser('bad');
    const socket = await connect(user);
    const ref = newRef('since');
    socket.send({ type: 'join', room: 'lobby', since: '18446744073709551616-0', ref });
    expect(((await socket.error(ref)) as ErrorFrame).code).toBe('bad_request');
    // The largest id there is: valid, and nothing is newer.
    socket.send({ type: 'join', room: roomName('max'), since: '18446744073709551615-18446744073709551615' });
    expect((await socket.next((f) => f.type === 'joined')).type).toBe('joined');
    for (const query of ['?before=99999999999999999999-0', '?before=0-0', '?before=1-18446744073709551616']) {
      expectCode(await api(`/api/rooms/lobby/messages${query}`, user), 400, 'bad_request');
    }
    expectCode(await api(`/api/rooms/${'a'.repeat(5000)}/messages`, user), 400, 'bad_request');
    for (const replica of harness.cluster.replicas) {
      const metrics = await request<string>(replica.url, '/metrics');
      expect(metrics.body).toMatch(/^roomcast_broker_errors_total 0$/m);
    }
  });
});

describe('Redis keeps no leftovers', () => {
  it('a replica forgets a room in its room list once its last member there left', async () => {
    const user = await newUser('leaver');
    const room = roomName('left');
    const socket = await connect(user, replicaWsUrl(harness.cluster, 0));
    const nodeRooms = () => redisCommand(harness.cluster.redis.port, ['SMEMBERS', 'rc:node:n1:rooms']) as Promise<string[]>;
    await socket.join(room);
    expect(await nodeRooms()).toContain(room);
    socket.send({ type: 'leave', room });
    await until(async () => !(await nodeRooms()).includes(room), 5000, `${room} to leave rc:node:n1:rooms`);
  });

  it("a room's keys expire after the idle TTL (refreshed by every write)", async () => {
    const owner = await newUser('ttl');
    const room = await createRoom(owner, true);
    await api(`/api/rooms/${room}/messages`, owner, { body: { text: 'hello' } });
    const ninetyDays = 90 * 24 * 3600 * 1000;
    for (const key of ['log', 'meta', 'members']) {
      const ttl = Number(await redisCommand(harness.cluster.redis.port, ['PTTL', `rc:{${room}}:${key}`]));
      expect(ttl, key).toBeGreaterThan(ninetyDays - 60_000);
      expect(ttl, key).toBeLessThanOrEqual(ninetyDays);
    }
  });
});
