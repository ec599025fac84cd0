import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChatClient, SESSION_EXPIRED, socketOrigin, type ChatClientOptions } from './connection.js';
import { ALICE, BOB, FakeNetwork, FakeSocket, MemoryStore, fakeFetch, fakeToken, joinedFrame, message } from './test-support/fakes.js';

const NOW = 1_700_000_000_000;
const TOKEN = fakeToken(NOW / 1000 + 3600);

interface Setup {
  client: ChatClient;
  store: MemoryStore;
  fetchCalls: ReturnType<typeof fakeFetch>['calls'];
}

/** A client with a stored session (as after a login), started, its first socket not yet open. */
function setup(overrides: Partial<ChatClientOptions> = {}, options: { loggedIn?: boolean; rooms?: unknown } = {}): Setup {
  const store = new MemoryStore();
  if (options.loggedIn ?? true) store.setItem('roomcast.session', JSON.stringify({ token: TOKEN, user: ALICE }));
  if (options.rooms) store.setItem('roomcast.rooms', JSON.stringify(options.rooms));
  const { fetch, calls } = fakeFetch((url) => {
    if (url.endsWith('/api/login')) return { status: 200, body: { token: TOKEN, user: ALICE } };
    if (url.includes('/messages')) return { status: 200, body: { messages: [] } };
    return { status: 200, body: { users: [] } };
  });
  const client = new ChatClient({
    WebSocket: FakeSocket,
    fetch,
    wsBase: 'ws://chat.test',
    httpBase: 'http://chat.test',
    storage: store,
    random: () => 0.5,
    pingIntervalMs: 0,
    ...overrides,
  });
  client.start();
  return { client, store, fetchCalls: calls };
}

/** Opens the socket, joins `lobby` and lets the replay settle. */
function connectToLobby(client: ChatClient, node = 'n1'): FakeSocket {
  client.openRoom('lobby');
  const socket = FakeSocket.last;
  socket.welcome(node);
  socket.answerJoinsAndPings([ALICE, BOB]);
  return socket;
}

const room = (client: ChatClient, name = 'lobby') => {
  const state = client.getSnapshot().rooms[name];
  if (!state) throw new Error(`room ${name} is not in the state`);
  return state;
};
const ids = (client: ChatClient, name = 'lobby') => room(client, name).messages.map((m) => m.id);

beforeEach(() => {
  FakeSocket.reset();
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('connecting', () => {
  it('logs in, keeps the token for the tab and connects to /ws offering it as a subprotocol, not in the URL', async () => {
    const { client, store, fetchCalls } = setup({}, { loggedIn: false });
    expect(client.getSnapshot().session).toBeNull();

    await client.login('alice');

    expect(fetchCalls[0]?.url).toBe('http://chat.test/api/login');
    expect(JSON.parse(String(fetchCalls[0]?.init?.body))).toEqual({ name: 'alice' });
    expect(JSON.parse(store.getItem('roomcast.session')!)).toEqual({ token: TOKEN, user: ALICE });
    expect(FakeSocket.last.url).toBe('ws://chat.test/ws');
    expect(FakeSocket.last.protocols).toEqual(['roomcast', `roomcast.bearer.${TOKEN}`]);
    expect(client.getSnapshot().connection).toEqual({ status: 'connecting', attempt: 0 });

    FakeSocket.last.welcome('n2');
    expect(client.getSnapshot().connection).toEqual({ status: 'connected', node: 'n2', connectionId: 'c-n2' });
  });

  it('reports a refused login with the server message', async () => {
    const { fetch } = fakeFetch(() => ({ status: 400, body: { error: { code: 'bad_request', message: 'name is blank' } } }));
    const client = new ChatClient({ WebSocket: FakeSocket, fetch, wsBase: 'ws://x' });
    client.start();
    await expect(client.login('  ')).rejects.toMatchObject({ code: 'bad_request', message: 'name is blank' });
    expect(FakeSocket.instances).toHaveLength(0);
  });

  it('restores the session and the rooms of the tab', () => {
    const { client } = setup({}, { rooms: [{ name: 'lobby', readUpTo: '5-0' }, { name: 'dev' }, { name: 'Bad Name!' }] });
    expect(client.getSnapshot().session?.user).toEqual(ALICE);
    expect(client.getSnapshot().roomOrder).toEqual(['lobby', 'dev']);
    FakeSocket.last.welcome('n1');
    expect(FakeSocket.last.framesOfType('join').map((f) => f.room)).toEqual(['lobby', 'dev']);
  });

  it('logout forgets the token and the rooms and closes the socket', () => {
    const { client, store } = setup();
    const socket = connectToLobby(client);
    client.logout();
    expect(socket.closedByClient).toBe(true);
    expect(store.data.size).toBe(0);
    expect(client.getSnapshot()).toMatchObject({ session: null, authError: null, roomOrder: [], connection: { status: 'offline' } });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('derives the socket origin from the page', () => {
    expect(socketOrigin({ protocol: 'https:', host: 'chat.example:8443' })).toBe('wss://chat.example:8443');
    expect(socketOrigin({ protocol: 'http:', host: '127.0.0.1:3000' })).toBe('ws://127.0.0.1:3000');
  });
});

describe('reconnecting', () => {
  it('retries with exponential backoff and full jitter, and resets after a welcome', () => {
    const { client } = setup({ backoff: { baseMs: 1000, maxMs: 8000 } });
    connectToLobby(client);

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      FakeSocket.last.drop(1006);
      const state = client.getSnapshot().connection;
      expect(state).toMatchObject({ status: 'reconnecting', attempt });
      if (state.status !== 'reconnecting') throw new Error('unreachable');
      delays.push(state.nextRetryAt - Date.now());
      const sockets = FakeSocket.instances.length;
      vi.advanceTimersByTime(state.nextRetryAt - Date.now() - 1);
      expect(FakeSocket.instances).toHaveLength(sockets);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.instances).toHaveLength(sockets + 1);
      expect(client.getSnapshot().connection).toEqual({ status: 'connecting', attempt });
    }
    // random() = 0.5 of a cap that doubles from 1 s up to 8 s.
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000]);

    FakeSocket.last.welcome('n3');
    FakeSocket.last.drop(1006);
    expect(client.getSnapshot().connection).toMatchObject({ status: 'reconnecting', attempt: 1, nextRetryAt: Date.now() + 500 });
  });

  it('spreads retries over the whole window (full jitter)', () => {
    const randoms = [0, 0.999];
    const { client } = setup({ backoff: { baseMs: 1000, maxMs: 8000 }, random: () => randoms.shift() ?? 0.5 });
    FakeSocket.last.drop();
    expect(client.getSnapshot().connection).toMatchObject({ attempt: 1, nextRetryAt: Date.now() });
    vi.advanceTimersByTime(0);
    FakeSocket.last.drop();
    expect(client.getSnapshot().connection).toMatchObject({ attempt: 2, nextRetryAt: Date.now() + 1998 });
  });

  it('rejoins every room with since = the last id seen in it', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    client.openRoom('dev');
    first.answerJoinsAndPings();
    first.receive(message('lobby', '9-0'));
    first.receive(message('lobby', '10-0'));
    first.receive(message('lobby', '10-2'));
    first.receive(message('dev', '7-1'));

    first.drop(1012);
    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    expect(second).not.toBe(first);
    second.welcome('n2');

    expect(second.framesOfType('join')).toMatchObject([
      { type: 'join', room: 'lobby', since: '10-2' },
      { type: 'join', room: 'dev', since: '7-1' },
    ]);
    expect(client.getSnapshot().connection).toMatchObject({ status: 'connected', node: 'n2' });
  });

  it('shows each message once and in id order across a reconnect', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    first.receive(message('lobby', '2-0'));
    first.receive(message('lobby', '3-0'));
    first.drop(1013);
    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    second.welcome('n2');
    second.receive(joinedFrame('lobby', [ALICE]));
    // A replay overlapping what we have, then live messages, one of them late.
    for (const id of ['3-0', '4-0', '5-0', '10-0', '9-0', '5-0']) second.receive(message('lobby', id));
    expect(ids(client)).toEqual(['2-0', '3-0', '4-0', '5-0', '9-0', '10-0']);
  });

  it('tries a refused join again a little later', () => {
    const { client } = setup({ joinRetryMs: 2000 });
    client.openRoom('lobby');
    const socket = FakeSocket.last;
    socket.welcome('n1');
    const [join] = socket.framesOfType('join');
    socket.receive({ type: 'error', code: 'internal', message: 'broker unreachable', ref: join!.ref });
    expect(room(client).error).toEqual({ code: 'internal', message: 'broker unreachable' });
    vi.advanceTimersByTime(1999); // random() = 0.5: 1000 + 1000 ms
    expect(socket.framesOfType('join')).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(socket.framesOfType('join')).toHaveLength(2);
    socket.answerJoinsAndPings();
    expect(room(client)).toMatchObject({ joined: true, error: undefined });
  });

  it('keeps the truncated flag of the rejoin', () => {
    const { client } = setup();
    client.openRoom('lobby');
    FakeSocket.last.welcome('n1');
    FakeSocket.last.receive(joinedFrame('lobby', [], true));
    expect(room(client).truncated).toBe(true);
  });

  it('treats close code 1008 as an expired token: back to login, no retry', () => {
    const { client, store } = setup();
    connectToLobby(client);
    FakeSocket.last.drop(1008);
    expect(client.getSnapshot()).toMatchObject({ session: null, authError: SESSION_EXPIRED, connection: { status: 'offline' } });
    expect(store.getItem('roomcast.session')).toBeNull();
    // The rooms are kept for the next login.
    expect(client.getSnapshot().roomOrder).toEqual(['lobby']);
    vi.advanceTimersByTime(120_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('does not connect with a token that has expired', () => {
    const store = new MemoryStore();
    store.setItem('roomcast.session', JSON.stringify({ token: fakeToken(NOW / 1000 - 1), user: ALICE }));
    const client = new ChatClient({ WebSocket: FakeSocket, fetch: fakeFetch(() => ({ status: 200, body: {} })).fetch, wsBase: 'ws://x', storage: store });
    client.start();
    expect(FakeSocket.instances).toHaveLength(0);
    expect(client.getSnapshot().authError).toBe(SESSION_EXPIRED);
  });

  it('asks over HTTP when an upgrade is refused, and goes to login on 401', async () => {
    const { fetch, calls } = fakeFetch(() => ({ status: 401, body: { error: { code: 'unauthorized', message: 'bad token' } } }));
    const { client } = setup({ fetch });
    FakeSocket.last.drop(1006); // never opened: the upgrade failed
    expect(calls[0]?.init?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}` });
    await vi.waitFor(() => expect(client.getSnapshot().authError).toBe(SESSION_EXPIRED));
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('waits while the device is offline and reconnects when it comes back', () => {
    const network = new FakeNetwork();
    const { client } = setup({ network });
    connectToLobby(client);
    network.set(false);
    expect(client.getSnapshot().connection).toEqual({ status: 'offline', reason: 'network' });
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    network.set(true);
    expect(FakeSocket.instances).toHaveLength(2);
    FakeSocket.last.welcome('n1');
    expect(FakeSocket.last.framesOfType('join')).toMatchObject([{ type: 'join', room: 'lobby' }]);
    expect(FakeSocket.last.framesOfType('join')[0]).not.toHaveProperty('since');
  });

  it('gives up on a socket that stops answering pings', () => {
    const { client } = setup({ pingIntervalMs: 20_000, pongTimeoutMs: 5_000 });
    const socket = connectToLobby(client);
    vi.advanceTimersByTime(20_000);
    expect(socket.framesOfType('ping').length).toBe(2); // the join sync ping and the liveness ping
    vi.advanceTimersByTime(5_000);
    expect(socket.closedByClient).toBe(true);
    expect(client.getSnapshot().connection.status).toBe('reconnecting');
  });

  it('keeps a socket that answers its pings', () => {
    const { client } = setup({ pingIntervalMs: 20_000, pongTimeoutMs: 5_000 });
    const socket = connectToLobby(client);
    for (let i = 0; i < 3; i++) {
      vi.advanceTimersByTime(20_000);
      socket.answerPings();
    }
    expect(client.getSnapshot().connection.status).toBe('connected');
  });
});

describe('sending', () => {
  it('shows a send at once as pending and confirms it with the echo of its ref', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    expect(client.send('lobby', '  hello  ')).toBeNull();

    const [pending] = room(client).pending;
    expect(pending).toMatchObject({ text: 'hello', status: 'pending' });
    expect(socket.framesOfType('send')).toEqual([{ type: 'send', room: 'lobby', text: 'hello', ref: pending!.ref }]);

    socket.receive(message('lobby', '1-0', ALICE, 'hello', pending!.ref));
    expect(room(client).pending).toEqual([]);
    expect(room(client).messages.map((m) => m.text)).toEqual(['hello']);
  });

  it('ignores refs it did not send', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.send('lobby', 'mine');
    socket.receive(message('lobby', '1-0', BOB, 'theirs', 'someone-else'));
    expect(room(client).pending).toHaveLength(1);
    expect(ids(client)).toEqual(['1-0']);
  });

  it('refuses blank and over-long text without keeping it', () => {
    const { client } = setup();
    connectToLobby(client);
    expect(client.send('lobby', ' \n\t ')).toMatchObject({ code: 'bad_request' });
    expect(client.send('lobby', '😀'.repeat(4001))).toMatchObject({ code: 'too_long' });
    expect(client.send('lobby', '😀'.repeat(4000))).toBeNull();
    expect(room(client).pending).toHaveLength(1);
  });

  it('marks a send refused for good failed, with the reason, and takes it back to edit', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.send('lobby', 'too big for this server');
    const ref = room(client).pending[0]!.ref;
    socket.receive({ type: 'error', code: 'too_large', message: 'text is over 2000 code points', ref });
    expect(room(client).pending[0]).toMatchObject({ status: 'failed', error: { code: 'too_large', message: 'text is over 2000 code points' } });

    client.edit('lobby', ref);
    expect(room(client).pending).toEqual([]);
    expect(client.drafts.get('lobby')).toBe('too big for this server');
  });

  it('retries a failed send with the same ref, so a late answer to it is the answer', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.send('lobby', 'not yet allowed');
    const ref = room(client).pending[0]!.ref;
    socket.receive({ type: 'error', code: 'forbidden', message: 'read-only for now', ref });
    client.retry('lobby', ref);
    expect(room(client).pending[0]).toMatchObject({ status: 'pending', ref });
    expect(socket.framesOfType('send').map((f) => f.ref)).toEqual([ref, ref]);
    socket.receive(message('lobby', '1-0', ALICE, 'not yet allowed', ref));
    expect(room(client).pending).toEqual([]);
    client.discard('lobby', ref);
    expect(ids(client)).toEqual(['1-0']);
  });

  it('holds sends made while disconnected and sends them once the room is rejoined', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    first.drop(1006);
    client.send('lobby', 'written offline');
    expect(room(client).pending[0]?.status).toBe('pending');

    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    second.welcome('n2');
    expect(second.framesOfType('send')).toEqual([]);
    second.answerJoinsAndPings();
    expect(second.framesOfType('send').map((f) => f.text)).toEqual(['written offline']);
  });

  it('re-sends a send that was never answered once, after the replay', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    first.receive(message('lobby', '1-0'));
    client.send('lobby', 'lost in the crash');
    const ref = room(client).pending[0]!.ref;
    first.drop(1006);

    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    second.welcome('n2');
    second.receive(joinedFrame('lobby', [ALICE]));
    second.receive(message('lobby', '2-0')); // the replay: not ours
    expect(second.framesOfType('send')).toEqual([]); // not before the replay is over
    second.answerPings();
    expect(second.framesOfType('send')).toEqual([{ type: 'send', room: 'lobby', text: 'lost in the crash', ref }]);
    second.answerPings();
    expect(second.framesOfType('send')).toHaveLength(1);

    second.receive(message('lobby', '3-0', ALICE, 'lost in the crash', ref));
    expect(room(client).pending).toEqual([]);
    expect(ids(client)).toEqual(['1-0', '2-0', '3-0']);
  });

  it('confirms a pending send from the replay instead of sending it twice', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    client.send('lobby', 'stored, but the echo was lost');
    const ref = room(client).pending[0]!.ref;
    first.drop(1006);

    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    second.welcome('n2');
    second.receive(joinedFrame('lobby', [ALICE]));
    second.receive(message('lobby', '5-0', ALICE, 'stored, but the echo was lost', ref));
    second.answerPings();

    expect(second.framesOfType('send')).toEqual([]);
    expect(room(client).pending).toEqual([]);
    expect(room(client).messages.map((m) => m.text)).toEqual(['stored, but the echo was lost']);
  });

  it('does not re-send sends refused for good on reconnect', () => {
    const { client } = setup();
    const first = connectToLobby(client);
    client.send('lobby', 'refused');
    first.receive({ type: 'error', code: 'forbidden', message: 'not for you', ref: room(client).pending[0]!.ref });
    first.drop(1006);
    vi.runOnlyPendingTimers();
    FakeSocket.last.welcome('n2');
    FakeSocket.last.answerJoinsAndPings();
    expect(FakeSocket.last.framesOfType('send')).toEqual([]);
    expect(room(client).pending[0]?.status).toBe('failed');
  });
});

describe('typing', () => {
  it('sends at most one typing signal per room every 3 s', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    for (let i = 0; i < 12; i++) {
      client.notifyTyping('lobby');
      vi.advanceTimersByTime(300);
    }
    // 0 ms, 3000 ms
    expect(socket.framesOfType('typing')).toEqual([
      { type: 'typing', room: 'lobby' },
      { type: 'typing', room: 'lobby' },
    ]);
  });

  it('does not signal again because of a send: quick messages are not each preceded by a typing frame', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    for (let i = 0; i < 5; i++) {
      client.notifyTyping('lobby');
      client.send('lobby', `quick ${i}`);
      socket.receive(message('lobby', `${i + 1}-0`, ALICE, `quick ${i}`, room(client).pending[0]!.ref));
    }
    expect(socket.framesOfType('typing')).toHaveLength(1);
    expect(socket.framesOfType('send')).toHaveLength(5);
  });

  it('shows who is typing and clears the indicator by itself', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    socket.receive({ type: 'typing', room: 'lobby', user: BOB });
    socket.receive({ type: 'typing', room: 'lobby', user: ALICE }); // our own signal, echoed by some server
    expect(room(client).typing.map((t) => t.user.name)).toEqual(['bob']);
    vi.advanceTimersByTime(3000);
    socket.receive({ type: 'typing', room: 'lobby', user: BOB }); // still typing: extended
    vi.advanceTimersByTime(3000);
    expect(room(client).typing).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(room(client).typing).toEqual([]);
  });

  it('clears a typing user when their message arrives', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    socket.receive({ type: 'typing', room: 'lobby', user: BOB });
    socket.receive(message('lobby', '1-0', BOB));
    expect(room(client).typing).toEqual([]);
  });
});

describe('rooms', () => {
  it('applies presence diffs to the list from joined', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    expect(room(client).users).toEqual([ALICE, BOB]);
    const carol = { id: 'u-carol', name: 'carol' };
    socket.receive({ type: 'presence', room: 'lobby', joined: [carol], left: [] });
    socket.receive({ type: 'presence', room: 'lobby', joined: [carol], left: [] });
    socket.receive({ type: 'presence', room: 'lobby', joined: [], left: [BOB] });
    expect(room(client).users).toEqual([ALICE, carol]);
  });

  it('counts unread messages of other users in rooms that are not open', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.openRoom('dev');
    socket.answerJoinsAndPings();
    socket.receive(message('lobby', `${NOW + 1}-0`, BOB));
    socket.receive(message('lobby', `${NOW + 2}-0`, ALICE));
    socket.receive(message('lobby', `${NOW + 3}-0`, BOB));
    socket.receive(message('lobby', `${NOW + 3}-0`, BOB)); // a duplicate is not news
    socket.receive(message('dev', `${NOW + 4}-0`, BOB));
    expect(room(client, 'lobby').unread).toBe(2);
    expect(room(client, 'dev').unread).toBe(0);

    client.openRoom('lobby');
    expect(room(client, 'lobby').unread).toBe(0);
    expect(client.getSnapshot().activeRoom).toBe('lobby');
  });

  it('does not count the history replayed on a first join as unread', () => {
    const { client } = setup({}, { rooms: [{ name: 'lobby' }, { name: 'dev' }] });
    client.openRoom('lobby');
    const socket = FakeSocket.last;
    socket.welcome('n1');
    socket.answerJoinsAndPings();
    socket.receive(message('dev', `${NOW - 60_000}-0`)); // replayed history
    socket.receive(message('dev', `${NOW + 1}-0`)); // live
    expect(room(client, 'dev').unread).toBe(1);
  });

  it('keeps read markers across a reload of the tab', () => {
    const first = setup();
    const socket = connectToLobby(first.client);
    socket.receive(message('lobby', '7-0'));
    first.client.stop();
    const saved = JSON.parse(first.store.getItem('roomcast.rooms')!);
    expect(saved).toEqual([{ name: 'lobby', readUpTo: '7-0' }]);

    const second = setup({}, { rooms: saved });
    second.client.openRoom('dev');
    FakeSocket.last.welcome('n1');
    FakeSocket.last.answerJoinsAndPings();
    FakeSocket.last.receive(message('lobby', '7-0'));
    FakeSocket.last.receive(message('lobby', '8-0'));
    expect(room(second.client, 'lobby').unread).toBe(1);
  });

  it('refuses room names outside the contract', () => {
    const { client } = setup();
    expect(client.openRoom('Lobby')).toBe(false);
    expect(client.openRoom('-x')).toBe(false);
    expect(client.openRoom('a'.repeat(65))).toBe(false);
    expect(client.getSnapshot().roomOrder).toEqual([]);
  });

  it('leaves a room', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.openRoom('dev');
    socket.answerJoinsAndPings();
    client.leaveRoom('lobby');
    expect(socket.framesOfType('leave')).toEqual([{ type: 'leave', room: 'lobby' }]);
    expect(client.getSnapshot()).toMatchObject({ roomOrder: ['dev'], activeRoom: 'dev' });
  });

  it('ignores frames it cannot read and rooms it did not join', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    const before = client.getSnapshot();
    socket.receiveRaw('not json');
    socket.receiveRaw('null');
    socket.receiveRaw(new ArrayBuffer(4));
    socket.receive(message('elsewhere', '1-0'));
    expect(client.getSnapshot()).toBe(before);
  });
});

describe('history', () => {
  it('loads older pages over HTTP, before the oldest id, without duplicates', async () => {
    const pages: Record<string, string[]> = { '5-0': ['2-0', '3-0', '4-0'], '2-0': ['1-0'] };
    const { fetch, calls } = fakeFetch((url) => {
      const before = new URL(url).searchParams.get('before') ?? '';
      return { status: 200, body: { messages: (pages[before] ?? []).map((id) => message('lobby', id)) } };
    });
    const { client } = setup({ fetch, historyPageSize: 3 });
    const socket = connectToLobby(client);
    for (const id of ['5-0', '6-0']) socket.receive(message('lobby', id));

    const loading = client.loadOlder('lobby');
    expect(room(client).history.loading).toBe(true);
    await loading;
    const url = new URL(calls[0]!.url);
    expect(url.pathname).toBe('/api/rooms/lobby/messages');
    expect(Object.fromEntries(url.searchParams)).toEqual({ before: '5-0', limit: '3' });
    expect(calls[0]!.init?.headers).toMatchObject({ authorization: `Bearer ${TOKEN}` });
    expect(ids(client)).toEqual(['2-0', '3-0', '4-0', '5-0', '6-0']);
    expect(room(client).history).toEqual({ loading: false, exhausted: false });

    await client.loadOlder('lobby');
    expect(ids(client)).toEqual(['1-0', '2-0', '3-0', '4-0', '5-0', '6-0']);
    expect(room(client).history.exhausted).toBe(true);

    await client.loadOlder('lobby');
    expect(calls).toHaveLength(2);
  });

  it('reports a failed page and lets the user try again', async () => {
    const { fetch } = fakeFetch(() => ({ status: 503, body: { error: { code: 'unavailable', message: 'broker down' } } }));
    const { client } = setup({ fetch });
    connectToLobby(client);
    await client.loadOlder('lobby');
    expect(room(client).history).toEqual({ loading: false, exhausted: false, error: 'broker down' });
  });
});

describe('store', () => {
  it('notifies listeners and keeps the snapshot stable between changes', () => {
    const { client } = setup();
    const listener = vi.fn();
    const unsubscribe = client.subscribe(listener);
    const snapshot = client.getSnapshot();
    expect(client.getSnapshot()).toBe(snapshot);
    connectToLobby(client);
    expect(listener).toHaveBeenCalled();
    expect(client.getSnapshot()).not.toBe(snapshot);
    unsubscribe();
    listener.mockClear();
    client.send('lobby', 'hi');
    expect(listener).not.toHaveBeenCalled();
  });
});

describe('kept on the device (reload, offline)', () => {
  /** A tab: session storage for the token and rooms, user storage shared by the "reloads". */
  function tab(local: MemoryStore, session: MemoryStore, overrides: Partial<ChatClientOptions> = {}) {
    const client = new ChatClient({
      WebSocket: FakeSocket,
      fetch: fakeFetch(() => ({ status: 200, body: { messages: [] } })).fetch,
      wsBase: 'ws://chat.test',
      storage: session,
      userStorage: local,
      random: () => 0.5,
      pingIntervalMs: 0,
      ...overrides,
    });
    client.start();
    return client;
  }
  function stores() {
    const session = new MemoryStore();
    session.setItem('roomcast.session', JSON.stringify({ token: TOKEN, user: ALICE }));
    return { session, local: new MemoryStore() };
  }

  it('a reload while offline shows the last known messages and people, and the unsent messages, which then go in order with their refs', () => {
    const { session, local } = stores();
    const first = tab(local, session);
    first.openRoom('lobby');
    FakeSocket.last.welcome('n1');
    FakeSocket.last.answerJoinsAndPings([ALICE, BOB]);
    FakeSocket.last.receive(message('lobby', '5-0', BOB, 'before the tunnel'));
    FakeSocket.last.drop(1006);
    for (const text of ['one', 'two', 'three']) first.send('lobby', text);
    const refs = room(first).pending.map((p) => p.ref);
    first.stop();

    // The reload: nothing reachable yet.
    FakeSocket.reset();
    const second = tab(local, session);
    expect(room(second)).toMatchObject({ joined: false, users: [ALICE, BOB] });
    expect(room(second).messages.map((m) => m.text)).toEqual(['before the tunnel']);
    expect(room(second).pending.map((p) => [p.text, p.ref, p.status])).toEqual([
      ['one', refs[0], 'pending'],
      ['two', refs[1], 'pending'],
      ['three', refs[2], 'pending'],
    ]);

    // Back: the join resumes after what the device holds, in the same log.
    const socket = FakeSocket.last;
    socket.welcome('n2');
    expect(socket.framesOfType('join')).toMatchObject([{ room: 'lobby', since: '5-0', epoch: 'e1' }]);
    socket.answerJoinsAndPings([ALICE, BOB]);
    for (let i = 0; i < 3; i++) {
      const send = socket.framesOfType('send')[i]!;
      socket.receive(message('lobby', `${6 + i}-0`, ALICE, send.text, send.ref));
    }
    expect(socket.framesOfType('send').map((f) => [f.text, f.ref])).toEqual([
      ['one', refs[0]],
      ['two', refs[1]],
      ['three', refs[2]],
    ]);
    expect(room(second).pending).toEqual([]);
    expect(JSON.parse(local.getItem(`roomcast.u.${ALICE.id}.outbox`)!)).toEqual([]);
  });

  it('confirms a kept send from the replay after a reload instead of sending it again', () => {
    const { session, local } = stores();
    const first = tab(local, session);
    const socket = connectToLobby(first);
    socket.receive(message('lobby', '5-0'));
    first.send('lobby', 'stored, echo lost');
    const ref = room(first).pending[0]!.ref;
    first.stop();

    FakeSocket.reset();
    tab(local, session);
    const again = FakeSocket.last;
    again.welcome('n2');
    again.receive(joinedFrame('lobby', [ALICE]));
    again.receive(message('lobby', '6-0', ALICE, 'stored, echo lost', ref));
    again.answerPings();
    expect(again.framesOfType('send')).toEqual([]);
  });

  it('a truncated rejoin starts the list again from the replay (the log lost or trimmed what followed)', () => {
    const { session, local } = stores();
    const client = tab(local, session);
    const socket = connectToLobby(client);
    for (const id of ['5-0', '6-0']) socket.receive(message('lobby', id));
    socket.drop(1006);
    vi.runOnlyPendingTimers();
    const second = FakeSocket.last;
    second.welcome('n2');
    expect(second.framesOfType('join')[0]).toMatchObject({ since: '6-0', epoch: 'e1' });
    second.receive({ ...joinedFrame('lobby', [ALICE], true), epoch: 'e2' });
    second.receive(message('lobby', '1-0'));
    expect(ids(client)).toEqual(['1-0']);
    expect(room(client)).toMatchObject({ truncated: true, epoch: 'e2', history: { exhausted: false } });
  });

  it('keeps drafts per room across a reload; logging out forgets everything of the user on the device', () => {
    const { session, local } = stores();
    const first = tab(local, session);
    connectToLobby(first);
    first.drafts.set('lobby', 'half a thought');
    first.stop();

    const second = tab(local, session);
    expect(second.drafts.get('lobby')).toBe('half a thought');
    second.send('lobby', 'unsent');
    second.persistNow();
    second.logout();
    expect([...local.data.keys()].filter((key) => key.includes(ALICE.id) && local.data.get(key) !== '[]')).toEqual([]);
    expect(second.drafts.get('lobby')).toBe('');
  });

  it('leaving a room drops what was kept of it, unsent messages included', () => {
    const { session, local } = stores();
    const client = tab(local, session);
    const socket = connectToLobby(client);
    client.openRoom('dev');
    socket.answerJoinsAndPings();
    socket.drop(1006);
    client.send('lobby', 'never mind');
    client.leaveRoom('lobby');
    expect(JSON.parse(local.getItem(`roomcast.u.${ALICE.id}.outbox`)!)).toEqual([]);
  });
});

describe('unread, with the page in the background', () => {
  function attention() {
    const listeners = new Set<() => void>();
    return {
      active: true,
      subscribe(listener: () => void) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
      set(active: boolean) {
        this.active = active;
        for (const listener of listeners) listener();
      },
    };
  }

  it('counts messages in the open room while the page is hidden, marks the first, and reads them when it is back', () => {
    const page = attention();
    const { client, store } = setup({ attention: page });
    const socket = connectToLobby(client);
    socket.receive(message('lobby', `${NOW + 1}-0`, BOB));
    expect(room(client).unread).toBe(0);

    page.set(false);
    socket.receive(message('lobby', `${NOW + 2}-0`, BOB));
    socket.receive(message('lobby', `${NOW + 3}-0`, BOB));
    expect(room(client)).toMatchObject({ unread: 2, firstUnread: `${NOW + 2}-0` });

    page.set(true);
    expect(room(client)).toMatchObject({ unread: 0, firstUnread: `${NOW + 2}-0` });
    // Read now: the marker is at the newest, so a reload would not count them again.
    expect(JSON.parse(store.getItem('roomcast.rooms')!)).toEqual([{ name: 'lobby', readUpTo: `${NOW + 3}-0` }]);
  });

  it('counts messages that arrive while the reader is scrolled up, until they scroll down', () => {
    const { client } = setup();
    const socket = connectToLobby(client);
    client.setAtBottom('lobby', false);
    socket.receive(message('lobby', `${NOW + 1}-0`, BOB));
    socket.receive(message('lobby', `${NOW + 2}-0`, ALICE));
    expect(room(client).unread).toBe(1);
    client.setAtBottom('lobby', true);
    expect(room(client).unread).toBe(0);
  });

  it('writing in the room reads it and retires the divider', () => {
    const page = attention();
    const { client } = setup({ attention: page });
    const socket = connectToLobby(client);
    page.set(false);
    socket.receive(message('lobby', `${NOW + 1}-0`, BOB));
    page.set(true);
    expect(room(client).firstUnread).toBe(`${NOW + 1}-0`);
    client.send('lobby', 'replying');
    expect(room(client).firstUnread).toBeUndefined();
  });
});
