/**
 * The embedded default (no REDIS_URL: memory broker and presence, what
 * `npm start` runs), built in-process with buildApp and talked to over real
 * sockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type ChatApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { ChatMessage, LoginResponse, MessagesPage, PresenceFrame, PresenceList } from '../src/protocol.js';
import { TestClient, closeAll, isPresence } from './support/client.js';
import { login, readyz, request } from './support/http.js';

let app: ChatApp;
let baseUrl: string;
let wsUrl: string;
let alice: LoginResponse;
let bob: LoginResponse;
const clients: TestClient[] = [];

beforeAll(async () => {
  app = buildApp(loadConfig({ PORT: '0', HOST: '127.0.0.1', NODE_ID: 'solo', LOG_LEVEL: 'silent', HISTORY_MAX_LEN: '1000' }));
  const port = await app.listen();
  baseUrl = `http://127.0.0.1:${port}`;
  wsUrl = `ws://127.0.0.1:${port}/ws`;
  alice = await login(baseUrl, 'alice');
  bob = await login(baseUrl, 'bob');
});
afterAll(async () => {
  await closeAll(clients);
  await app?.close();
});

async function open(session: LoginResponse, label: string): Promise<TestClient> {
  const client = await TestClient.connect(wsUrl, session.token, label);
  clients.push(client);
  return client;
}

describe('single process on the memory broker', () => {
  it('is ready, and welcomes sockets naming its node', async () => {
    expect(await readyz(baseUrl)).toBe(200);
    const client = await open(alice, 'alice');
    expect(client.welcome).toMatchObject({ type: 'welcome', user: alice.user, node: 'solo' });
    expect(typeof client.welcome.connectionId).toBe('string');
  });

  it('joins, replays, fans out, keeps presence and history', async () => {
    const room = 'solo-room';
    const a = await open(alice, 'alice-1');
    const b = await open(bob, 'bob-1');
    expect((await a.join(room)).users).toEqual([alice.user]);
    const joined = await b.join(room);
    expect(joined.users.map((u) => u.name).sort()).toEqual(['alice', 'bob']);
    expect(await a.next<PresenceFrame>(isPresence)).toEqual({ type: 'presence', room, joined: [bob.user], left: [] });

    const sent = (await a.say(room, 'hello bob', 'h1')) as ChatMessage;
    expect(sent).toMatchObject({ type: 'message', room, text: 'hello bob', ref: 'h1', user: alice.user });
    const received = await b.waitForId(room, sent.id);
    expect({ ...received, ref: undefined }).toEqual({ ...sent, ref: undefined });

    b.send({ type: 'typing', room });
    expect(await a.next((f) => f.type === 'typing')).toEqual({ type: 'typing', room, user: bob.user });

    const page = await request<MessagesPage>(baseUrl, `/api/rooms/${room}/messages`, { token: bob.token });
    expect(page.body.messages.map((m) => m.id)).toEqual([sent.id]);
    const presence = await request<PresenceList>(baseUrl, `/api/rooms/${room}/presence`, { token: bob.token });
    expect(presence.body.users.map((u) => u.name).sort()).toEqual(['alice', 'bob']);

    const late = await open(bob, 'bob-2');
    await late.join(room);
    await late.waitForId(room, sent.id);
    // bob's second socket: no diff for alice.
    await b.close();
    const after = (await a.say(room, 'still here?')) as ChatMessage;
    await late.waitForId(room, after.id);
    expect(a.received.filter(isPresence)).toHaveLength(1);
    await late.close();
    expect(await a.next<PresenceFrame>(isPresence)).toEqual({ type: 'presence', room, joined: [], left: [bob.user] });
  });

  it('closes its sockets with 1012 on shutdown', async () => {
    const client = await open(alice, 'alice-last');
    await client.join('closing');
    const closing = app.close();
    expect((await client.waitClosed()).code).toBe(1012);
    await closing;
  });
});
