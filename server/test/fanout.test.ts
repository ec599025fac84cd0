/**
 * Three replicas behind nginx, one Redis: messages, typing and presence cross
 * replicas exactly once and in one order.
 */
import { redisCommand } from '@roomcast/deploy/local';
import { afterEach, describe, expect, it } from 'vitest';
import { compareIds, type ChatMessage, type LoginResponse, type PresenceFrame } from '../src/protocol.js';
import { RedisKeys } from '../src/redis/keys.js';
import { TestClient, isError, isMessage, isPresence, newRef } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { login, metric, request, until } from './support/http.js';

// Senders here push 50 messages at once: lift the rate limit for this cluster.
const harness = useTestCluster({ RATE_MESSAGES_PER_SEC: '1000', RATE_BURST: '1000' });
const { clients } = harness;
let roomCounter = 0;
const newRoom = (label: string) => `${label}-${++roomCounter}`;

// Runs before useTestCluster's afterEach closes the clients (after-hooks run in reverse).
afterEach(() => {
  for (const client of clients) expect(client.violations, client.label).toEqual([]);
});

async function connect(url: string, session: LoginResponse, label: string): Promise<TestClient> {
  const client = await TestClient.connect(url, session.token, label);
  clients.add(client);
  return client;
}

/** One socket on each replica, straight to its port, each joined to `room`. */
async function onePerReplica(room: string, prefix: string): Promise<TestClient[]> {
  const sockets: TestClient[] = [];
  for (let i = 0; i < harness.cluster.replicas.length; i++) {
    const session = await login(harness.cluster.url, `${prefix}${i + 1}`);
    const client = await connect(replicaWsUrl(harness.cluster, i), session, `${prefix}@n${i + 1}`);
    expect(client.node).toBe(`n${i + 1}`);
    await client.join(room);
    sockets.push(client);
  }
  return sockets;
}

/** How many times message `id` arrived on `client` in `room`. */
const copies = (client: TestClient, room: string, id: string) => client.messages(room).filter((m) => m.id === id).length;

function sameMessage(a: ChatMessage, b: ChatMessage): void {
  const { ref: _a, ...restA } = a;
  const { ref: _b, ...restB } = b;
  expect(restA).toEqual(restB);
}

describe('fan-out across replicas', () => {
  it('a message sent on one replica reaches sockets on the other two exactly once, with the same id', async () => {
    const room = newRoom('fanout');
    const sockets = await onePerReplica(room, 'fan');
    for (const [i, sender] of sockets.entries()) {
      const outcome = await sender.say(room, `hello from n${i + 1}`);
      expect(outcome.type).toBe('message');
      const sent = outcome as ChatMessage;
      expect(sent.text).toBe(`hello from n${i + 1}`);
      // A second message is the barrier: a duplicate of the first would arrive before it.
      const barrier = (await sender.say(room, `barrier ${i}`)) as ChatMessage;
      for (const receiver of sockets) {
        if (receiver === sender) continue;
        sameMessage(await receiver.waitForId(room, sent.id), sent);
        await receiver.waitForId(room, barrier.id);
        expect(copies(receiver, room, sent.id), receiver.label).toBe(1);
      }
      expect(copies(sender, room, sent.id)).toBe(1);
    }
  });

  it('through nginx: sockets spread over replicas and all get the message once', async () => {
    const room = newRoom('nginx');
    const sockets: TestClient[] = [];
    for (let i = 0; i < 3; i++) {
      const client = await connect(harness.cluster.wsUrl, await login(harness.cluster.url, `lb${i}`), `lb${i}`);
      await client.join(room);
      sockets.push(client);
    }
    expect(new Set(sockets.map((s) => s.node)).size).toBeGreaterThanOrEqual(2);
    const [sender, ...receivers] = sockets;
    const sent = (await sender!.say(room, 'via nginx')) as ChatMessage;
    expect(sent.type).toBe('message');
    const barrier = (await sender!.say(room, 'barrier')) as ChatMessage;
    for (const receiver of receivers) {
      sameMessage(await receiver.waitForId(room, sent.id), sent);
      await receiver.waitForId(room, barrier.id);
      expect(copies(receiver, room, sent.id)).toBe(1);
    }
  });

  it('three concurrent senders on different replicas: every receiver sees one order, one ack per ref', async () => {
    const room = newRoom('race');
    const senders = await onePerReplica(room, 'racer');
    const listeners = await onePerReplica(room, 'listener');
    const perSender = 50;
    const refs = senders.map((_, s) => Array.from({ length: perSender }, () => newRef(`s${s}`)));
    // All at once, without waiting for acks.
    for (let i = 0; i < perSender; i++) {
      for (const [s, sender] of senders.entries()) sender.send({ type: 'send', room, text: `s${s} #${i}`, ref: refs[s]![i] });
    }
    const total = senders.length * perSender;
    const acks = await Promise.all(
      senders.map((sender, s) => Promise.all(refs[s]!.map((ref) => sender.outcome(ref, 20_000)))),
    );
    for (const outcomes of acks) for (const outcome of outcomes) expect(outcome.type).toBe('message');

    const everyone = [...senders, ...listeners];
    const lastId = acks.flat().map((m) => (m as ChatMessage).id).sort(compareIds).at(-1)!;
    for (const client of everyone) await client.waitForId(room, lastId, 20_000);
    const reference = listeners[0]!.messages(room).map((m) => m.id);
    expect(reference).toHaveLength(total);
    for (let i = 1; i < reference.length; i++) expect(compareIds(reference[i]!, reference[i - 1]!)).toBeGreaterThan(0);
    for (const client of everyone) expect(client.messages(room).map((m) => m.id), client.label).toEqual(reference);
    // Exactly one outcome per ref on each sender: no second copy, no error besides it.
    for (const [s, sender] of senders.entries()) {
      for (const ref of refs[s]!) {
        const outcomes = sender.received.filter((f) => (isMessage(f) || isError(f)) && f.ref === ref);
        expect(outcomes, ref).toHaveLength(1);
      }
    }
    // And every acknowledged message is what everyone saw.
    expect(acks.flat().map((m) => (m as ChatMessage).id).sort(compareIds)).toEqual(reference);
  });

  it('typing reaches the other replicas, never the typing socket, and is not stored', async () => {
    const room = newRoom('typing');
    const sockets = await onePerReplica(room, 'typist');
    const [typist, ...others] = sockets;
    typist!.send({ type: 'typing', room });
    for (const other of others) {
      const typing = await other.next((f) => f.type === 'typing', 5000, 'typing');
      expect(typing).toEqual({ type: 'typing', room, user: typist!.welcome.user });
    }
    // Published after the typing event on the same path: once it is back, an echo would have been too.
    await typist!.say(room, 'after typing');
    expect(typist!.received.filter((f) => f.type === 'typing')).toEqual([]);
    const late = await connect(replicaWsUrl(harness.cluster, 1), await login(harness.cluster.url, 'late'), 'late');
    await late.join(room);
    const replay = await late.next(isMessage, 5000, 'the replay');
    expect(replay).toMatchObject({ text: 'after typing' });
    expect(late.received.filter((f) => f.type === 'typing')).toEqual([]);
  });

  it('presence diffs cross replicas: joined on first join, left when the last socket goes', async () => {
    const room = newRoom('presence');
    const watcherSession = await login(harness.cluster.url, 'watcher');
    const watcher = await connect(replicaWsUrl(harness.cluster, 0), watcherSession, 'watcher@n1');
    expect((await watcher.join(room)).users).toEqual([watcherSession.user]);

    const dana = await login(harness.cluster.url, 'dana');
    const first = await connect(replicaWsUrl(harness.cluster, 1), dana, 'dana@n2');
    const joined = await first.join(room);
    expect(joined.users.map((u) => u.id).sort()).toEqual([watcherSession.user.id, dana.user.id].sort());
    const diff = await watcher.next<PresenceFrame>(isPresence, 5000, 'dana joined');
    expect(diff).toEqual({ type: 'presence', room, joined: [dana.user], left: [] });

    // A second socket of the same user on another replica: no diff, then closing it: no diff either.
    const n3 = harness.cluster.replicas[2]!;
    const second = await connect(replicaWsUrl(harness.cluster, 2), dana, 'dana@n3');
    await second.join(room);
    await second.close();
    // n3 has handled the close (and queued its presence update on its Redis
    // connection) once its connection gauge is back to 0. A message published
    // by n3 after that is the barrier: a diff would have reached us before it.
    await until(async () => (await metric(n3.url, 'roomcast_connections')) === 0, 5000, 'n3 to see the close');
    const posted = await request<ChatMessage>(n3.url, `/api/rooms/${room}/messages`, { token: dana.token, body: { text: 'barrier' } });
    expect(posted.status).toBe(201);
    await watcher.waitForId(room, posted.body.id);
    expect(watcher.received.filter(isPresence)).toHaveLength(1);

    // The joiner's own socket is skipped.
    expect(first.received.filter(isPresence)).toEqual([]);

    first.send({ type: 'leave', room });
    const left = await watcher.next<PresenceFrame>(isPresence, 5000, 'dana left');
    expect(left).toEqual({ type: 'presence', room, joined: [], left: [dana.user] });
  });

  it('after leave, a socket gets nothing more from the room', async () => {
    const room = newRoom('left-room');
    const other = newRoom('other-room');
    const session = await login(harness.cluster.url, 'stayer');
    const stayer = await connect(replicaWsUrl(harness.cluster, 0), session, 'stayer@n1');
    const leaver = await connect(replicaWsUrl(harness.cluster, 1), await login(harness.cluster.url, 'leaver'), 'leaver@n2');
    for (const client of [stayer, leaver]) {
      await client.join(room);
      await client.join(other);
    }
    leaver.send({ type: 'leave', room });
    // Frames of one socket are handled in order: this answer comes after the leave was handled.
    leaver.send({ type: 'leave', room, ref: 'again' });
    expect(await leaver.error('again')).toMatchObject({ code: 'not_joined' });
    const gone = (await stayer.say(room, 'after the leave')) as ChatMessage;
    // Published after it by the same replica: arrives after it would have.
    const barrier = (await stayer.say(other, 'barrier')) as ChatMessage;
    await leaver.waitForId(other, barrier.id);
    expect(leaver.messages(room).map((m) => m.id)).not.toContain(gone.id);
  });

  it('each replica subscribes (sharded) to a room once while it has members there, and unsubscribes after the last', async () => {
    const room = newRoom('subscriptions');
    const channel = new RedisKeys().channel(room);
    const subscribers = async () => {
      const reply = await redisCommand(harness.cluster.redis.port, ['PUBSUB', 'SHARDNUMSUB', channel]);
      return Array.isArray(reply) ? Number(reply[1]) : NaN;
    };
    const session = await login(harness.cluster.url, 'subscriber');
    const a1 = await connect(replicaWsUrl(harness.cluster, 0), session, 'a1@n1');
    const a2 = await connect(replicaWsUrl(harness.cluster, 0), session, 'a2@n1');
    const b = await connect(replicaWsUrl(harness.cluster, 1), session, 'b@n2');
    for (const client of [a1, a2, b]) await client.join(room);
    expect(await subscribers()).toBe(2);
    await a1.close();
    b.send({ type: 'leave', room });
    await until(async () => (await subscribers()) === 1, 5000, 'n2 to unsubscribe');
    expect(await subscribers()).toBe(1); // n1 still has a2
    await a2.close();
    await until(async () => (await subscribers()) === 0, 5000, 'n1 to unsubscribe');
  });
});
