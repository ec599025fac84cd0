/**
 * A hung Redis (SIGSTOP: connections stay open, nothing answers), as during
 * a failover or a long stall. Commands time out after Redis may already have
 * executed them, so:
 * - every send still gets exactly one truthful outcome: its message, never an
 *   `internal` for a message that was stored, and nothing is stored twice;
 * - /readyz turns 503 on every replica while Redis hangs, 200 after.
 */
import type { Cluster } from '@roomcast/deploy/local';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ChatMessage, MessagesPage } from '../src/protocol.js';
import { TestClient, closeAll, isError, isMessage, newRef } from './support/client.js';
import { replicaLogs, replicaWsUrl, startTestCluster } from './support/cluster.js';
import { readyz, request, until } from './support/http.js';
import { mintToken, nowSeconds } from './support/tokens.js';

const ROOM = 'paused';
/** Well past the command timeout below: every send made during the pause times out at least once. */
const PAUSE_COMMAND_TIMEOUT_MS = 800;

let cluster: Cluster;
const sockets: TestClient[] = [];
let token: string;

beforeAll(async () => {
  cluster = await startTestCluster({ REDIS_COMMAND_TIMEOUT_MS: String(PAUSE_COMMAND_TIMEOUT_MS) });
  token = await mintToken(cluster.secret, { sub: 'u_pause', name: 'pause', exp: nowSeconds() + 3600 });
  for (let i = 0; i < cluster.replicas.length; i++) {
    const socket = await TestClient.connect(replicaWsUrl(cluster, i), token, `socket@n${i + 1}`, 10_000, true);
    await socket.join(ROOM);
    sockets.push(socket);
  }
});
beforeEach(() => onTestFailed(() => console.error(replicaLogs(cluster))));
afterAll(async () => {
  process.kill(cluster.redis.pid, 'SIGCONT');
  await closeAll(sockets);
  await cluster?.stop();
});

const everyReadyz = async (status: number) => (await Promise.all(cluster.replicas.map((r) => readyz(r.url)))).every((s) => s === status);

describe('Redis paused (SIGSTOP) mid-traffic', () => {
  it('every send ends with exactly one outcome, its message; nothing is stored twice; readiness follows Redis', async () => {
    const refs: string[] = [];
    const own = new Map<TestClient, string[]>(sockets.map((socket) => [socket, []]));
    const send = (socket: TestClient, label: string) => {
      const ref = newRef(label);
      refs.push(ref);
      own.get(socket)!.push(ref);
      socket.send({ type: 'send', room: ROOM, text: label, ref });
    };
    for (const [i, socket] of sockets.entries()) send(socket, `before-${i}`);
    await Promise.all(sockets.map((socket, i) => socket.outcome(refs[i]!)));

    process.kill(cluster.redis.pid, 'SIGSTOP');
    // Sends made while Redis hangs: their commands reach Redis's socket buffer and time out here.
    for (let round = 0; round < 3; round++) for (const [i, socket] of sockets.entries()) send(socket, `paused-${round}-${i}`);
    await until(() => everyReadyz(503), 10_000, 'every replica to answer /readyz with 503 while Redis hangs');
    // Wait until each of those sends has timed out at least once (the replicas log the unknown outcome).
    await until(
      () => cluster.replicas.every((replica) => replica.logs().includes('publish outcome unknown')),
      10_000,
      'the paused sends to time out on every replica',
    );
    expect(sockets.flatMap((socket) => socket.received.filter(isError))).toEqual([]);
    process.kill(cluster.redis.pid, 'SIGCONT');

    await until(() => everyReadyz(200), 15_000, 'every replica to be ready again');
    for (const socket of sockets) send(socket, 'after');

    // Exactly one outcome per send, on the socket that sent it, and it is the message.
    for (const [socket, mine] of own) {
      for (const ref of mine) await socket.seen((f) => (isMessage(f) || isError(f)) && f.ref === ref, 15_000, `the outcome of ${ref}`);
    }
    // The last outcome is in: a second copy of any earlier one would have come before it (one feed, in order).
    for (const [socket, mine] of own) {
      const outcomes = socket.received.filter((f): f is ChatMessage => (isMessage(f) || isError(f)) && mine.includes(f.ref ?? ''));
      expect(outcomes.filter(isError)).toEqual([]);
      expect(outcomes.map((f) => f.ref).sort()).toEqual([...mine].sort());
    }
    // Stored once each, and every socket saw every message once, in id order.
    const history = await request<MessagesPage>(cluster.url, `/api/rooms/${ROOM}/messages?limit=100`, { token });
    const storedRefs = history.body.messages.map((m) => m.ref);
    expect(storedRefs.sort()).toEqual([...refs].sort());
    for (const socket of sockets) {
      const seen = socket.messages(ROOM).map((m) => m.id);
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(history.body.messages.map((m) => m.id));
    }
  });
});

