/**
 * Redis goes away and comes back (append-only file on). Sockets stay open;
 * while Redis is down /readyz is 503 and sends are answered with `internal`;
 * afterwards history is intact, the replicas resubscribe by themselves, and
 * a user who left during the outage does not haunt the room.
 */
import type { Cluster } from '@roomcast/deploy/local';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ChatMessage, LoginResponse, MessagesPage, PresenceFrame, PresenceList } from '../src/protocol.js';
import { TestClient, closeAll } from './support/client.js';
import { replicaLogs, replicaWsUrl, startTestCluster } from './support/cluster.js';
import { login, metric, readyz, request, until } from './support/http.js';

const ROOM = 'durable';

let cluster: Cluster;
let session: LoginResponse;
/** One socket per replica, opened once, before any restart, never reconnected. */
let sockets: TestClient[] = [];
const storedBefore: string[] = [];

beforeAll(async () => {
  cluster = await startTestCluster();
  session = await login(cluster.url, 'durable-user');
  sockets = await Promise.all(
    cluster.replicas.map((_, i) => TestClient.connect(replicaWsUrl(cluster, i), session.token, `socket@n${i + 1}`)),
  );
  for (const socket of sockets) await socket.join(ROOM);
});
beforeEach(() => {
  onTestFailed(() => {
    console.error(`redis pid ${cluster.redis.pid}\n${replicaLogs(cluster)}`);
  });
});
afterAll(async () => {
  await closeAll(sockets);
  await cluster?.stop();
});

/** A replica must survive a Redis outage: fail at once, with its output, if one died. */
function expectAllAlive(): void {
  for (const replica of cluster.replicas) {
    if (!replica.alive) throw new Error(`replica ${replica.nodeId} died during the Redis outage:\n${replica.logs().slice(-3000)}`);
  }
}

async function everyReadyz(status: number): Promise<boolean> {
  expectAllAlive();
  return (await Promise.all(cluster.replicas.map((r) => readyz(r.url)))).every((s) => s === status);
}

const allReady = () => everyReadyz(200);

/** Sends from `from` and checks that every socket gets it. */
async function sendAndFanOut(from: number, text: string): Promise<ChatMessage> {
  const outcome = await sockets[from]!.say(ROOM, text, undefined, 10_000);
  expect(outcome, text).toMatchObject({ type: 'message', text });
  const message = outcome as ChatMessage;
  for (const socket of sockets) await socket.waitForId(ROOM, message.id, 10_000);
  return message;
}

async function history(): Promise<string[]> {
  const res = await request<MessagesPage>(cluster.url, `/api/rooms/${ROOM}/messages?limit=100`, { token: session.token });
  expect(res.status).toBe(200);
  return res.body.messages.map((m) => m.id);
}

describe('a Redis restart', () => {
  it('keeps history and the replicas resubscribe without reconnecting sockets', async () => {
    for (let i = 0; i < 3; i++) storedBefore.push((await sendAndFanOut(i, `before restart ${i}`)).id);
    expect(await history()).toEqual(storedBefore);

    await cluster.redis.restart();
    await until(allReady, 20_000, 'every replica ready again');

    expect(await history()).toEqual(storedBefore);
    // Messages sent after the restart reach the sockets opened before it, on every replica.
    for (let i = 0; i < 3; i++) await sendAndFanOut(i, `after restart ${i}`);
    for (const socket of sockets) expect(socket.isOpen).toBe(true);
    expectAllAlive();
  });
});

describe('a Redis outage', () => {
  it('turns /readyz to 503 and answers sends with internal, then recovers', async () => {
    await cluster.redis.stop();
    await until(() => everyReadyz(503), 20_000, 'every replica to report 503');

    // Sockets stay open; every send is answered, with its ref, never dropped.
    for (const [i, socket] of sockets.entries()) {
      const ref = `during-outage-${i}`;
      expect(await socket.say(ROOM, 'lost?', ref, 10_000)).toMatchObject({ type: 'error', code: 'internal', ref });
      expect(socket.isOpen).toBe(true);
      await socket.ping();
    }
    // The HTTP API says the broker is unavailable rather than hanging.
    const posted = await request(cluster.url, `/api/rooms/${ROOM}/messages`, { token: session.token, body: { text: 'x' } });
    expect(posted.status).toBeGreaterThanOrEqual(500);

    await cluster.redis.restart();
    await until(allReady, 20_000, 'every replica ready again');
    for (let i = 0; i < 3; i++) await sendAndFanOut(i, `after outage ${i}`);
    expectAllAlive();
    const ids = await history();
    expect(ids.slice(0, storedBefore.length)).toEqual(storedBefore);
    expect(ids).toHaveLength(storedBefore.length + 6);
  });
});

describe('presence through a Redis outage', () => {
  it('a user who left while Redis was down is reported left on every replica afterwards: no ghost', async () => {
    const ghost = await login(cluster.url, 'ghost-user');
    const n2 = cluster.replicas[1]!;
    const ghostSocket = await TestClient.connect(replicaWsUrl(cluster, 1), ghost.token, 'ghost@n2');
    await ghostSocket.join(ROOM);
    const isGhostDiff = (key: 'joined' | 'left') => (f: { type: string }) =>
      f.type === 'presence' && (f as PresenceFrame)[key].some((u) => u.id === ghost.user.id);
    for (const socket of sockets) await socket.next(isGhostDiff('joined'), 10_000, 'ghost joined');
    const connectionsOnN2 = await metric(n2.url, 'roomcast_connections');

    await cluster.redis.stop();
    await until(() => everyReadyz(503), 20_000, 'every replica to report 503');
    await ghostSocket.close();
    // n2 has handled the close, and could not tell Redis.
    await until(async () => (await metric(n2.url, 'roomcast_connections')) === connectionsOnN2! - 1, 5000, 'n2 to see the close');

    await cluster.redis.restart();
    await until(allReady, 20_000, 'every replica ready again');
    // Sockets on every replica learn it: live, or from the resync after their subscription's gap.
    for (const socket of sockets) await socket.next(isGhostDiff('left'), 20_000, 'ghost left');
    const res = await request<PresenceList>(cluster.url, `/api/rooms/${ROOM}/presence`, { token: session.token });
    expect(res.body.users.map((u) => u.id)).not.toContain(ghost.user.id);
    expectAllAlive();
  });
});
