import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ApiError, type RoomListing } from './api.js';
import { ChatClient, SESSION_EXPIRED } from './connection.js';
import { Membership } from './membership.js';
import { ALICE, BOB, FakeSocket, MemoryStore, fakeFetch, fakeToken, message } from './test-support/fakes.js';

const NOW = 1_700_000_000_000;
const TOKEN = fakeToken(NOW / 1000 + 3600);
const CAROL = { id: 'u-carol', name: 'carol' };
const DM_BOB: RoomListing = { name: 'dm-alice-bob', private: true, role: 'member', peer: BOB.id };

type Handler = (url: string, init?: RequestInit) => { status: number; body: unknown } | undefined;

/** ChatClient + Membership on fakes, signed in as alice; `routes` answers HTTP calls first. */
function setup(routes: Handler = () => undefined, listed: RoomListing[] = []) {
  const session = new MemoryStore();
  session.setItem('roomcast.session', JSON.stringify({ token: TOKEN, user: ALICE }));
  const local = new MemoryStore();
  const { fetch, calls } = fakeFetch((url, init) => {
    const answer = routes(url, init);
    if (answer) return answer;
    if (url.endsWith('/api/rooms') && (init?.method ?? 'GET') === 'GET') return { status: 200, body: { rooms: listed } };
    return { status: 404, body: { error: { code: 'not_found', message: 'no route' } } };
  });
  const client = new ChatClient({ WebSocket: FakeSocket, fetch, wsBase: 'ws://chat.test', httpBase: 'http://chat.test', storage: session, random: () => 0.5, pingIntervalMs: 0, joinRetryMs: 1000 });
  const membership = new Membership(client, { storage: local });
  membership.start();
  client.start();
  return { client, membership, calls, session, local };
}

/** Opens the socket, joins `lobby`, and lets the listing load. */
async function connect(client: ChatClient, node = 'n1'): Promise<FakeSocket> {
  client.openRoom('lobby');
  const socket = FakeSocket.last;
  socket.welcome(node);
  socket.answerJoinsAndPings([ALICE, BOB]);
  await vi.runAllTimersAsync();
  return socket;
}

/** The ref of the last join of `room` the client sent on `socket`. */
function joinRef(socket: FakeSocket, room: string): string {
  const join = socket.framesOfType('join').filter((f) => f.room === room).at(-1);
  if (!join?.ref) throw new Error(`no join of ${room}`);
  return join.ref;
}

/** A client with a stored session for `user` (not started: the book loads from the session alone). */
function signedIn(token: string, user: typeof ALICE): ChatClient {
  const store = new MemoryStore();
  store.setItem('roomcast.session', JSON.stringify({ token, user }));
  return new ChatClient({ WebSocket: FakeSocket, fetch: fakeFetch(() => ({ status: 200, body: {} })).fetch, wsBase: 'ws://chat.test', storage: store });
}

const body = (call: { init?: RequestInit }) => JSON.parse(String(call.init?.body)) as unknown;

beforeEach(() => {
  FakeSocket.reset();
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the list of rooms', () => {
  it('loads the rooms and DMs the server lists on connect, with the token, and names a DM by its peer', async () => {
    const secret: RoomListing = { name: 'secret', private: true, role: 'owner' };
    const dmCarol: RoomListing = { name: 'dm-alice-carol', private: true, role: 'member', peer: CAROL.id };
    const { client, membership, calls } = setup(undefined, [secret, DM_BOB, dmCarol]);
    await connect(client);

    const listCall = calls.find((c) => c.url === 'http://chat.test/api/rooms');
    expect(listCall?.init?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}` });
    expect(membership.getSnapshot()).toMatchObject({ status: 'ready', rooms: [secret, DM_BOB, dmCarol] });
    // bob was met in lobby (joined frame); carol never was: her id stands in.
    expect(membership.label('dm-alice-bob')).toBe('bob');
    expect(membership.label('dm-alice-carol')).toBe(CAROL.id);
    expect(membership.label('secret')).toBe('secret');
  });

  it('loads again on every reconnect', async () => {
    const { client, calls } = setup();
    const first = await connect(client);
    first.drop(1012);
    await vi.advanceTimersByTimeAsync(60_000);
    FakeSocket.last.welcome('n2');
    await vi.runAllTimersAsync();
    expect(calls.filter((c) => c.url.endsWith('/api/rooms'))).toHaveLength(2);
  });

  it('keeps a room added while the list was being fetched', async () => {
    const { client, membership } = setup();
    // The listing answer is held back until the test releases it.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    vi.spyOn(client, 'authorized').mockImplementation(async () => {
      await held;
      return [] as never;
    });
    client.openRoom('lobby');
    const socket = FakeSocket.last;
    socket.welcome('n1');
    expect(membership.getSnapshot().status).toBe('loading');
    socket.receive({ type: 'added', room: DM_BOB, by: BOB });
    release();
    await vi.runAllTimersAsync();
    expect(membership.getSnapshot()).toMatchObject({ status: 'ready', rooms: [DM_BOB] });
  });

  it('a 401 while listing ends the session (sign in again)', async () => {
    const { client, membership } = setup((url) => (url.endsWith('/api/rooms') ? { status: 401, body: { error: { code: 'unauthorized', message: 'token expired' } } } : undefined));
    await connect(client);
    expect(client.getSnapshot().session).toBeNull();
    expect(client.getSnapshot().authError).toBe(SESSION_EXPIRED);
    expect(membership.getSnapshot().rooms).toEqual([]);
  });
});

describe('a join refused with forbidden', () => {
  it('closes the room with one notice, and neither retries nor joins it again on reconnect', async () => {
    const { client, membership, session } = setup();
    const socket = await connect(client);
    client.openRoom('secret');
    socket.receive({ type: 'error', code: 'forbidden', message: 'private room', ref: joinRef(socket, 'secret') });

    expect(client.getSnapshot().rooms.secret).toBeUndefined();
    expect(client.getSnapshot().roomOrder).toEqual(['lobby']);
    expect(client.getSnapshot().activeRoom).toBe('lobby');
    expect(membership.getSnapshot().notices).toMatchObject([{ kind: 'forbidden', room: 'secret', label: 'secret' }]);
    expect(JSON.parse(session.getItem('roomcast.rooms')!)).toEqual([{ name: 'lobby' }]);

    // Well past the retry delay of other refusals: no second join.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(socket.framesOfType('join').filter((f) => f.room === 'secret')).toHaveLength(1);
    // A new socket rejoins lobby only.
    socket.drop(1012);
    await vi.advanceTimersByTimeAsync(60_000);
    FakeSocket.last.welcome('n2');
    expect(FakeSocket.last.framesOfType('join').map((f) => f.room)).toEqual(['lobby']);
    expect(membership.getSnapshot().notices).toHaveLength(1);
  });

  it('other refusals are still retried', async () => {
    const { client, membership } = setup();
    const socket = await connect(client);
    client.openRoom('busy');
    socket.receive({ type: 'error', code: 'internal', message: 'broker down', ref: joinRef(socket, 'busy') });
    await vi.advanceTimersByTimeAsync(2000);
    expect(socket.framesOfType('join').filter((f) => f.room === 'busy')).toHaveLength(2);
    expect(client.getSnapshot().rooms.busy?.error?.code).toBe('internal');
    expect(membership.getSnapshot().notices).toEqual([]);
  });

  it('a dismissed notice is gone', async () => {
    const { client, membership } = setup();
    const socket = await connect(client);
    client.openRoom('secret');
    socket.receive({ type: 'error', code: 'forbidden', message: 'private room', ref: joinRef(socket, 'secret') });
    const [notice] = membership.getSnapshot().notices;
    membership.dismiss(notice!.id);
    expect(membership.getSnapshot().notices).toEqual([]);
  });
});

describe('being removed', () => {
  it('closes the room with a notice, sends no leave, ignores what follows, and does not rejoin', async () => {
    const team: RoomListing = { name: 'team', private: true, role: 'member' };
    const { client, membership } = setup(undefined, [team]);
    const socket = await connect(client);
    client.openRoom('team');
    socket.answerJoinsAndPings([ALICE, BOB]);
    expect(client.getSnapshot().rooms.team?.joined).toBe(true);

    socket.receive({ type: 'removed', room: 'team' });
    socket.receive(message('team', '5-0'));

    expect(client.getSnapshot().rooms.team).toBeUndefined();
    expect(client.getSnapshot().activeRoom).toBe('lobby');
    expect(socket.framesOfType('leave')).toEqual([]);
    expect(membership.getSnapshot().rooms).toEqual([]);
    expect(membership.getSnapshot().notices).toMatchObject([{ kind: 'removed', room: 'team', label: 'team' }]);
    expect(client.getSnapshot().rooms.lobby?.joined).toBe(true);

    socket.drop(1012);
    await vi.advanceTimersByTimeAsync(60_000);
    FakeSocket.last.welcome('n2');
    expect(FakeSocket.last.framesOfType('join').map((f) => f.room)).toEqual(['lobby']);
  });

  it('leaving on purpose removes the user over HTTP and closes the room without a notice', async () => {
    const team: RoomListing = { name: 'team', private: true, role: 'member' };
    const { client, membership, calls } = setup((url, init) => (init?.method === 'DELETE' ? { status: 204, body: null } : undefined), [team]);
    const socket = await connect(client);
    client.openRoom('team');
    socket.answerJoinsAndPings();

    const leaving = membership.leave('team');
    // The server's removal reaches the socket before the HTTP answer.
    socket.receive({ type: 'removed', room: 'team' });
    await leaving;

    const call = calls.find((c) => c.init?.method === 'DELETE');
    expect(call?.url).toBe(`http://chat.test/api/rooms/team/members/${ALICE.id}`);
    expect(client.getSnapshot().rooms.team).toBeUndefined();
    expect(membership.getSnapshot().rooms).toEqual([]);
    expect(membership.getSnapshot().notices).toEqual([]);
  });
});

describe('being added', () => {
  it('lists a DM someone started, by their name, and joins it in the background', async () => {
    const { client, membership } = setup();
    const socket = await connect(client);
    socket.receive({ type: 'added', room: { name: 'dm-alice-carol', private: true, role: 'member', peer: CAROL.id }, by: CAROL });

    expect(membership.getSnapshot().rooms.map((r) => r.name)).toEqual(['dm-alice-carol']);
    expect(membership.label('dm-alice-carol')).toBe('carol');
    expect(socket.framesOfType('join').map((f) => f.room)).toEqual(['lobby', 'dm-alice-carol']);
    expect(client.getSnapshot().activeRoom).toBe('lobby');

    socket.answerJoinsAndPings([ALICE, CAROL]);
    vi.setSystemTime(NOW + 5000);
    socket.receive(message('dm-alice-carol', `${NOW + 5000}-0`, CAROL, 'psst'));
    expect(client.getSnapshot().rooms['dm-alice-carol']?.unread).toBe(1);
  });

  it('lists a private room the user was invited to, without joining it', async () => {
    const { client, membership } = setup();
    const socket = await connect(client);
    socket.receive({ type: 'added', room: { name: 'plans', private: true, role: 'member' }, by: BOB });
    expect(membership.getSnapshot().rooms).toEqual([{ name: 'plans', private: true, role: 'member' }]);
    expect(socket.framesOfType('join').map((f) => f.room)).toEqual(['lobby']);
  });
});

describe('creating rooms and DMs', () => {
  it('creates a private room with the invited ids (not the user, once each) and lists it', async () => {
    const created: RoomListing = { name: 'plans', private: true, role: 'owner' };
    const { client, membership, calls } = setup((url, init) => (url.endsWith('/api/rooms') && init?.method === 'POST' ? { status: 201, body: { room: created } } : undefined));
    await connect(client);

    await expect(membership.createPrivateRoom('plans', [BOB.id, ' u-carol ', BOB.id, ALICE.id])).resolves.toEqual(created);
    const call = calls.find((c) => c.init?.method === 'POST')!;
    expect(call.url).toBe('http://chat.test/api/rooms');
    expect(body(call)).toEqual({ name: 'plans', private: true, members: [BOB.id, 'u-carol'] });
    expect(call.init?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' });
    expect(membership.getSnapshot().rooms).toEqual([created]);
  });

  it('reports an existing name as a conflict and lists nothing', async () => {
    const { client, membership } = setup((url, init) => (init?.method === 'POST' ? { status: 409, body: { error: { code: 'conflict', message: 'room exists' } } } : undefined));
    await connect(client);
    const error = await membership.createPrivateRoom('lobby', []).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 409, code: 'conflict' });
    expect(membership.getSnapshot().rooms).toEqual([]);
  });

  it('opens a DM with someone from the presence list', async () => {
    const { client, membership, calls } = setup((url) => (url.endsWith('/api/dm') ? { status: 201, body: { room: DM_BOB } } : undefined));
    await connect(client);
    await expect(membership.openDm(BOB)).resolves.toEqual(DM_BOB);
    const call = calls.find((c) => c.url.endsWith('/api/dm'))!;
    expect(body(call)).toEqual({ user: BOB.id });
    expect(membership.getSnapshot().rooms).toEqual([DM_BOB]);
    expect(membership.label(DM_BOB.name)).toBe('bob');
  });

  it('refuses a DM with oneself without asking the server', async () => {
    const { client, membership, calls } = setup();
    await connect(client);
    const before = calls.length;
    await expect(membership.openDm(ALICE)).rejects.toMatchObject({ code: 'bad_request' });
    expect(calls).toHaveLength(before);
  });

  it('adds and removes members over HTTP', async () => {
    const { client, membership, calls } = setup((url, init) => {
      if (init?.method === 'PUT') return { status: 200, body: { member: { id: CAROL.id, role: 'member' } } };
      if (init?.method === 'DELETE') return { status: 204, body: null };
      if (url.endsWith('/members')) return { status: 200, body: { members: [{ id: ALICE.id, role: 'owner', name: 'alice' }, { id: CAROL.id, role: 'member', name: 'carol' }] } };
      return undefined;
    });
    await connect(client);
    await membership.addMember('plans', 'u-carol ');
    await membership.removeMember('plans', CAROL.id);
    const members = await membership.members('plans');

    const put = calls.find((c) => c.init?.method === 'PUT')!;
    expect(put.url).toBe('http://chat.test/api/rooms/plans/members/u-carol');
    expect(body(put)).toEqual({ role: 'member' });
    expect(calls.find((c) => c.init?.method === 'DELETE')?.url).toBe('http://chat.test/api/rooms/plans/members/u-carol');
    expect(members.map((m) => m.role)).toEqual(['owner', 'member']);
    // Names the members list gives go into the people book; the user is never in it.
    expect(membership.getSnapshot().people.map((p) => p.name)).toEqual(['carol', 'bob']);
  });
});

describe('the people book', () => {
  it('remembers people met in shared rooms, per user, across restarts', async () => {
    const { client, membership, local } = setup();
    const socket = await connect(client);
    socket.receive({ type: 'presence', room: 'lobby', joined: [CAROL], left: [] });
    socket.receive(message('lobby', '9-0', { id: 'u-dave', name: 'dave' }));
    expect(membership.getSnapshot().people).toEqual([{ id: 'u-dave', name: 'dave' }, CAROL, BOB]);
    expect(local.getItem(`roomcast.people.${ALICE.id}`)).not.toBeNull();

    // Signing out forgets the book in memory; another user in the same browser starts with an empty one.
    client.logout();
    expect(membership.getSnapshot().people).toEqual([]);
    const bobToken = fakeToken(NOW / 1000 + 3600, 'bob');
    const bobs = new Membership(signedIn(bobToken, BOB), { storage: local });
    bobs.start();
    expect(bobs.getSnapshot().people).toEqual([]);
    // Alice, back in a new tab, gets hers.
    const restored = new Membership(signedIn(TOKEN, ALICE), { storage: local });
    restored.start();
    expect(restored.getSnapshot().people.map((p) => p.name)).toEqual(['dave', 'carol', 'bob']);
  });
});
