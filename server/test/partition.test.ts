/**
 * One replica cut off from Redis while its sockets stay up: its Redis path
 * goes through a TCP proxy that stops forwarding (a partition, as TCP sees
 * it: nothing closes, nothing answers), the other replicas reach Redis.
 * - A short stall: no presence flap, and every send on the cut-off replica
 *   gets exactly one outcome, its message (never a false `internal`).
 * - A long stall (past the presence TTL): the others rightly see its users
 *   leave; after the heal, presence converges for every client — the cut-off
 *   replica's own clients included, who must see themselves present again.
 */
import { startRedis, startReplica, startStallProxy, type RedisHandle, type ReplicaHandle, type StallProxy } from '@roomcast/deploy/local';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import type { ChatMessage, JoinedFrame, PresenceFrame, ServerFrame } from '../src/protocol.js';
import { TestClient, closeAll, isError, isMessage, newRef } from './support/client.js';
import { LOOSE_HTTP_LIMITS } from './support/cluster.js';
import { until } from './support/http.js';
import { mintToken, nowSeconds } from './support/tokens.js';

const ROOM = 'partitioned';
const TTL_MS = 4000;
const ENV = {
  LOG_LEVEL: 'warn',
  PRESENCE_HEARTBEAT_MS: '500',
  PRESENCE_TTL_MS: String(TTL_MS),
  PRESENCE_SWEEP_MS: '250',
  REDIS_COMMAND_TIMEOUT_MS: '500',
  ...LOOSE_HTTP_LIMITS,
};

let redis: RedisHandle;
let proxy: StallProxy;
const replicas: ReplicaHandle[] = [];
const clients: TestClient[] = [];
/** The users, and the socket each has: two on the cut-off replica n1, one on each of the others. */
const names = ['cut-a', 'cut-b', 'far-c', 'far-d'];

beforeAll(async () => {
  redis = await startRedis({ appendonly: false });
  proxy = await startStallProxy(redis.port);
  const secret = randomBytes(32).toString('hex');
  const proxied = `redis://127.0.0.1:${proxy.port}`;
  for (const [i, url] of [proxied, redis.url, redis.url].entries()) {
    replicas.push(await startReplica({ nodeId: `p${i + 1}`, redisUrl: url, secret, env: ENV }));
  }
  const where = [0, 0, 1, 2];
  for (const [i, name] of names.entries()) {
    const token = await mintToken(secret, { sub: `u_${name}`, name, exp: nowSeconds() + 3600 });
    const client = await TestClient.connect(`ws://127.0.0.1:${replicas[where[i]!]!.port}/ws`, token, name, 10_000, true);
    await client.join(ROOM);
    clients.push(client);
  }
  // Everyone sees everyone before the partition.
  await until(() => clients.every((client) => sameSet(presentFor(client), names)), 10_000, 'everyone to see everyone');
});
beforeEach(() => onTestFailed(() => console.error(replicas.map((r) => `--- ${r.nodeId}\n${r.logs().slice(-3000)}`).join('\n'))));
afterAll(async () => {
  proxy?.resume();
  await closeAll(clients);
  await Promise.all(replicas.map((replica) => replica.stop()));
  await proxy?.close();
  await redis?.stop();
});

/** The room's users as a client knows them: its joined.users, then every diff in order (left, then joined). */
function presentFor(client: TestClient): string[] {
  const view = new Set<string>();
  for (const frame of client.received) {
    if (frame.type === 'joined' && frame.room === ROOM) {
      view.clear();
      for (const user of (frame as JoinedFrame).users) view.add(user.name);
    } else if (frame.type === 'presence' && frame.room === ROOM) {
      for (const user of (frame as PresenceFrame).left) view.delete(user.name);
      for (const user of (frame as PresenceFrame).joined) view.add(user.name);
    }
  }
  return [...view];
}

const sameSet = (a: string[], b: string[]) => a.length === b.length && b.every((x) => a.includes(x));
const presenceFrames = (client: TestClient) => client.received.filter((f): f is PresenceFrame => f.type === 'presence');

/** Sends one message from each cut-off client during `during`, and checks each gets exactly one outcome, its message. */
async function sendThrough(during: () => Promise<void>): Promise<void> {
  const sent: Array<[TestClient, string]> = [];
  for (const client of clients.slice(0, 2)) {
    const ref = newRef(client.label);
    client.send({ type: 'send', room: ROOM, text: ref, ref });
    sent.push([client, ref]);
  }
  await during();
  for (const [client, ref] of sent) {
    const outcome = await client.outcome(ref, 15_000);
    expect(outcome.type, `outcome of ${ref}`).toBe('message');
    // The far side gets it too, once.
    await clients[2]!.seen((f) => isMessage(f) && f.ref === ref, 15_000);
  }
  // A barrier: a later message from the far side reached the cut-off clients, so any second outcome would be in.
  const barrier = await clients[2]!.say(ROOM, 'barrier', newRef('barrier'), 15_000);
  for (const client of clients) await client.waitForId(ROOM, (barrier as ChatMessage).id, 15_000);
  for (const [client, ref] of sent) {
    const outcomes = client.received.filter((f: ServerFrame) => (isMessage(f) || isError(f)) && f.ref === ref);
    expect(outcomes, `outcomes of ${ref}`).toHaveLength(1);
  }
  for (const client of clients) {
    const ids = client.messages(ROOM).map((m) => m.id);
    expect(new Set(ids).size, `${client.label} got a message twice`).toBe(ids.length);
  }
}

describe('a replica partitioned from Redis', () => {
  it('a short stall: no presence flap, no false error', async () => {
    const before = clients.map((client) => presenceFrames(client).length);
    await sendThrough(async () => {
      proxy.stall();
      // Long enough for the sends' commands to time out (500 ms), well under the presence TTL.
      await until(() => replicas[0]!.logs().includes('publish outcome unknown'), 10_000, 'the cut-off sends to time out');
      proxy.resume();
    });
    expect(clients.map((client) => presenceFrames(client).length)).toEqual(before);
  });

  it('a long stall: the others see its users leave, and after the heal every client, itself included, sees everyone again', async () => {
    await sendThrough(async () => {
      proxy.stall();
      // The far side sweeps the silent replica's users: they leave, as they should.
      await until(() => !presentFor(clients[2]!).includes('cut-a') && !presentFor(clients[3]!).includes('cut-b'), 15_000, 'the far side to see the cut-off users leave');
      proxy.resume();
    });
    await until(() => clients.every((client) => sameSet(presentFor(client), names)), 15_000, 'presence to converge for every client');
    // The cut-off clients were told they had left (the sweep), then that they are back.
    const own = presenceFrames(clients[0]!);
    expect(own.some((f) => f.left.some((u) => u.name === 'cut-a'))).toBe(true);
    expect(presentFor(clients[0]!)).toContain('cut-a');
  });
});
