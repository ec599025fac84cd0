/**
 * What a misbehaving client gets over a real socket: the contract's error
 * code (with its ref when valid), the socket still usable where it should
 * be, and the right close code or HTTP status where it should not.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Auth } from '../src/auth.js';
import type { ChatMessage, ErrorFrame, LoginResponse } from '../src/protocol.js';
import { TestClient, isError, isMessage, newRef } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { login } from './support/http.js';
import { mintToken, nowSeconds } from './support/tokens.js';

// Default limits: the rate-limit test relies on 10 msg/s with bursts of 30.
const harness = useTestCluster();
const { clients } = harness;
let session: LoginResponse;
let wsUrl: string;

beforeAll(async () => {
  session = await login(harness.cluster.url, 'mallory');
  wsUrl = replicaWsUrl(harness.cluster, 0);
});
// Runs before useTestCluster's afterEach closes the clients (after-hooks run in reverse).
afterEach(() => {
  for (const client of clients) expect(client.violations, client.label).toEqual([]);
});

async function open(label = 'mallory', url = wsUrl, token = session.token): Promise<TestClient> {
  const client = await TestClient.connect(url, token, label);
  clients.add(client);
  return client;
}

/** Sends a frame and returns the error that answers it (matched by ref, or the next ref-less error). */
async function errorFor(client: TestClient, frame: Record<string, unknown> | string, ref?: string): Promise<ErrorFrame> {
  if (typeof frame === 'string') client.sendText(frame);
  else client.send(frame);
  const error = await client.error(ref);
  expect(typeof error.message).toBe('string');
  return error;
}

function envelope(body: string): { code: string; message: string } {
  const parsed = JSON.parse(body) as { error: { code: string; message: string } };
  expect(typeof parsed.error.message).toBe('string');
  return parsed.error;
}

describe('bad frames get bad_request and the socket stays usable', () => {
  it('non-JSON text', async () => {
    const client = await open();
    for (const text of ['hello', '{"type":"ping"', '', '[1,2', 'null', '42', '[]']) {
      expect((await errorFor(client, text)).code, text).toBe('bad_request');
    }
    await client.ping();
  });

  it('unknown or missing type, echoing the ref', async () => {
    const client = await open();
    expect((await errorFor(client, { type: 'shout', ref: 'u1' }, 'u1')).code).toBe('bad_request');
    expect((await errorFor(client, { ref: 'u2' }, 'u2')).code).toBe('bad_request');
    await client.ping();
  });

  it('bad room names', async () => {
    const client = await open();
    for (const room of ['Bad', '-x', 'a b', 'a'.repeat(65), '', 12]) {
      const ref = newRef('room');
      expect((await errorFor(client, { type: 'join', room, ref }, ref)).code, String(room)).toBe('bad_request');
    }
    const ref = newRef('room');
    expect((await errorFor(client, { type: 'join', ref }, ref)).code).toBe('bad_request');
    await client.ping();
  });

  it('a since that is not a message id', async () => {
    const client = await open();
    expect((await errorFor(client, { type: 'join', room: 'ok', since: 'yesterday', ref: 's1' }, 's1')).code).toBe('bad_request');
    await client.ping();
  });

  it('an invalid ref: bad_request without ref', async () => {
    const client = await open();
    for (const ref of ['', 'r'.repeat(65), 7, null]) {
      const error = await errorFor(client, { type: 'ping', ref });
      expect(error.code).toBe('bad_request');
      expect('ref' in error).toBe(false);
    }
    await client.ping();
  });

  it('a binary frame', async () => {
    const client = await open();
    client.sendBinary(Buffer.from(JSON.stringify({ type: 'ping', ref: 'bin' })));
    const error = await client.error(undefined);
    expect(error.code).toBe('bad_request');
    expect(client.received.some((f) => f.type === 'pong')).toBe(false);
    await client.ping();
  });
});

describe('text limits', () => {
  it('blank text is bad_request, 4001 code points too_large, 4000 accepted (trimmed)', async () => {
    const client = await open();
    const room = 'limits';
    await client.join(room);
    for (const text of ['', '   ', '\n\t\u3000']) {
      const outcome = await client.say(room, text);
      expect(outcome).toMatchObject({ type: 'error', code: 'bad_request' });
    }
    expect(await client.say(room, 'x'.repeat(4001), 'long')).toMatchObject({ type: 'error', code: 'too_large', ref: 'long' });
    expect(await client.say(room, '😀'.repeat(4001), 'long2')).toMatchObject({ type: 'error', code: 'too_large', ref: 'long2' });
    const ok = (await client.say(room, `  ${'y'.repeat(4000)}  `, 'max')) as ChatMessage;
    expect(ok).toMatchObject({ type: 'message', ref: 'max', text: 'y'.repeat(4000) });
    const emoji = (await client.say(room, '😀'.repeat(4000), 'max2')) as ChatMessage;
    expect(emoji).toMatchObject({ type: 'message', text: '😀'.repeat(4000) });
    // Nothing refused was stored: only the two accepted messages are in the room.
    const late = await open('late');
    await late.join(room);
    await late.seen((f) => isMessage(f) && f.id === emoji.id, 5000, 'the replay');
    expect(late.messages(room).map((m) => m.id)).toEqual([ok.id, emoji.id]);
  });
});

describe('frames that need a joined room', () => {
  it('send, leave and typing in a room not joined are not_joined, with the ref', async () => {
    const client = await open();
    expect(await client.say('nowhere', 'hi', 'nj1')).toMatchObject({ type: 'error', code: 'not_joined', ref: 'nj1' });
    expect((await errorFor(client, { type: 'leave', room: 'nowhere', ref: 'nj2' }, 'nj2')).code).toBe('not_joined');
    expect((await errorFor(client, { type: 'typing', room: 'nowhere', ref: 'nj3' }, 'nj3')).code).toBe('not_joined');
    // After leaving, the room is not joined any more.
    await client.join('brief');
    client.send({ type: 'leave', room: 'brief' });
    expect((await errorFor(client, { type: 'leave', room: 'brief', ref: 'nj4' }, 'nj4')).code).toBe('not_joined');
    await client.ping();
  });
});

describe('frame size', () => {
  it('accepts a frame of exactly 64 KiB', async () => {
    const client = await open();
    const head = '{"type":"ping","ref":"big","pad":"';
    const tail = '"}';
    const frame = head + 'p'.repeat(64 * 1024 - head.length - tail.length) + tail;
    expect(Buffer.byteLength(frame)).toBe(65536);
    client.sendText(frame);
    expect(await client.next((f) => f.type === 'pong' && f.ref === 'big')).toEqual({ type: 'pong', ref: 'big' });
  });

  it('closes the socket with 1009 on a frame over 64 KiB', async () => {
    const client = await open();
    client.sendText(JSON.stringify({ type: 'send', room: 'big', text: 'z'.repeat(64 * 1024) }));
    expect((await client.waitClosed()).code).toBe(1009);
  });

  it('closes with 1009 through nginx too', async () => {
    const client = await open('via-nginx', harness.cluster.wsUrl);
    client.sendText('x'.repeat(64 * 1024 + 1));
    expect((await client.waitClosed()).code).toBe(1009);
  });
});

describe('rate limit', () => {
  it('a burst of 40 sends: some rate_limited with their refs, one outcome each, and the socket still works', async () => {
    const client = await open('burst');
    const room = 'burst';
    await client.join(room);
    const refs = Array.from({ length: 40 }, () => newRef('burst'));
    for (const ref of refs) client.send({ type: 'send', room, text: `spam ${ref}`, ref });
    const outcomes = await Promise.all(refs.map((ref) => client.outcome(ref, 10_000)));
    const accepted = outcomes.filter(isMessage);
    const limited = outcomes.filter((o) => isError(o) && o.code === 'rate_limited');
    expect(accepted.length + limited.length).toBe(40);
    // At least the burst of 30 goes through; the rest of a 40-frame burst cannot.
    expect(accepted.length).toBeGreaterThanOrEqual(30);
    expect(limited.length).toBeGreaterThan(0);
    for (const ref of refs) {
      expect(client.received.filter((f) => (isMessage(f) || isError(f)) && f.ref === ref), ref).toHaveLength(1);
    }
    // Pings have their own budget: the socket answers at once.
    await client.ping();
    expect(client.isOpen).toBe(true);
    // And sends go through again once the bucket refills (10/s).
    let outcome = await client.say(room, 'after the burst');
    const deadline = Date.now() + 5000;
    while (isError(outcome) && outcome.code === 'rate_limited' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100)); // waiting for the refill, which is time-based
      outcome = await client.say(room, 'after the burst');
    }
    expect(outcome).toMatchObject({ type: 'message', text: 'after the burst' });
  });

  it('typing has a budget of its own: a typing flood is limited, and does not eat the message quota', async () => {
    const client = await open('typist');
    await client.join('typing-burst');
    for (let i = 0; i < 40; i++) client.send({ type: 'typing', room: 'typing-burst', ref: `t${i}` });
    const limited = await client.next((f) => isError(f) && f.code === 'rate_limited', 5000, 'a rate_limited error');
    expect(limited).toMatchObject({ type: 'error', code: 'rate_limited' });
    expect((limited as { ref?: string }).ref).toMatch(/^t\d+$/);
    // The message budget is untouched: a burst of 30 sends right after all goes through.
    const refs = Array.from({ length: 30 }, (_, i) => `after-typing-${i}`);
    for (const ref of refs) client.send({ type: 'send', room: 'typing-burst', text: ref, ref });
    for (const ref of refs) expect((await client.outcome(ref)).type).toBe('message');
  });
});

describe('tokens', () => {
  const user = { sub: Auth.userIdFor('tokenuser'), name: 'tokenuser' };

  it('refuses an expired token during the upgrade with 401', async () => {
    const token = await mintToken(harness.cluster.secret, { ...user, exp: nowSeconds() - 60 });
    const refusal = await TestClient.refusal(wsUrl, token);
    expect(refusal.status).toBe(401);
    expect(envelope(refusal.body).code).toBe('unauthorized');
  });

  it('refuses a forged token with 401', async () => {
    const token = await mintToken('not-the-cluster-secret-but-32-bytes-long!', { ...user, exp: nowSeconds() + 600 });
    expect((await TestClient.refusal(wsUrl, token)).status).toBe(401);
    // A valid token with one character of the signature changed.
    const valid = session.token;
    const last = valid.at(-2) === 'A' ? 'B' : 'A';
    const tampered = `${valid.slice(0, -2)}${last}${valid.at(-1)}`;
    expect((await TestClient.refusal(wsUrl, tampered)).status).toBe(401);
  });

  it('refuses a missing or malformed token with 401', async () => {
    expect((await TestClient.refusal(wsUrl)).status).toBe(401);
    expect((await TestClient.refusal(wsUrl, '')).status).toBe(401);
    expect((await TestClient.refusal(wsUrl, 'not-a-jwt')).status).toBe(401);
  });

  it('refuses through nginx with 401 too', async () => {
    const token = await mintToken(harness.cluster.secret, { ...user, exp: nowSeconds() - 60 });
    const refusal = await TestClient.refusal(harness.cluster.wsUrl, token);
    expect(refusal.status).toBe(401);
    expect(envelope(refusal.body).code).toBe('unauthorized');
  });

  it('accepts a token minted by another backend with the shared secret', async () => {
    const token = await mintToken(harness.cluster.secret, { sub: 'external-42', name: 'External', exp: nowSeconds() + 600 });
    const client = await open('external', wsUrl, token);
    expect(client.welcome.user).toEqual({ id: 'external-42', name: 'External' });
  });

  it('closes a socket with 1008 within 5 s of its token expiring', async () => {
    const exp = nowSeconds() + 2;
    const token = await mintToken(harness.cluster.secret, { ...user, exp });
    const client = await open('expiring', wsUrl, token);
    await client.ping();
    const closed = await client.waitClosed(exp * 1000 - Date.now() + 5000);
    expect(closed.code).toBe(1008);
  });
});
