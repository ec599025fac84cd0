/**
 * The slow-consumer bound (MAX_BUFFERED_BYTES, here 256 KiB): a socket that
 * stops reading is closed with 1013; a socket that reads normally is never
 * closed by it, even when a replay sends it more than the bound at once.
 */
import type { Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, LoginResponse } from '../src/protocol.js';
import { TestClient } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { login, metric, request } from './support/http.js';

const BOUND = 256 * 1024;
/** Code points of 4 UTF-8 bytes each: a message of about 16 KB, near the largest the contract allows. */
const LONG_TEXT = '😀'.repeat(3990);

const harness = useTestCluster({ MAX_BUFFERED_BYTES: String(BOUND) });
const { clients } = harness;
let session: LoginResponse;

beforeAll(async () => {
  session = await login(harness.cluster.url, 'reader');
});

async function post(room: string, text: string): Promise<ChatMessage> {
  const res = await request<ChatMessage>(harness.cluster.replicas[1]!.url, `/api/rooms/${room}/messages`, {
    token: session.token,
    body: { text },
  });
  expect(res.status).toBe(201);
  return res.body;
}

async function open(label: string): Promise<TestClient> {
  const client = await TestClient.connect(replicaWsUrl(harness.cluster, 0), session.token, label);
  clients.add(client);
  return client;
}

describe('slow consumers', () => {
  it('a socket that reads normally gets a replay larger than the bound, and stays open', async () => {
    const room = 'big-replay';
    const first = await post(room, 'start');
    const ids: string[] = [];
    // 80 × 16 KB ≈ 1.3 MB missed, five times the bound.
    for (let i = 0; i < 80; i++) ids.push((await post(room, `${i} ${LONG_TEXT}`)).id);
    const client = await open('resumer');
    const joined = await client.join(room, first.id);
    expect(joined.truncated).toBe(false);
    await client.waitForId(room, ids.at(-1)!, 20_000);
    expect(client.messages(room).map((m) => m.id)).toEqual(ids);
    await client.ping();
    expect(client.closeInfo).toBeUndefined();
  });

  it('a socket that stops reading is closed with 1013 once it falls too far behind', async () => {
    const room = 'stalled';
    const client = await open('stalled');
    await client.join(room);
    const slowBefore = (await metric(harness.cluster.replicas[0]!.url, 'roomcast_slow_consumers_total')) ?? 0;
    // Stop reading: the kernel buffers fill, then the replica's own buffer grows.
    const socket = (client.ws as unknown as { _socket: Socket })._socket;
    socket.pause();
    let posted = 0;
    while (((await metric(harness.cluster.replicas[0]!.url, 'roomcast_slow_consumers_total')) ?? 0) === slowBefore) {
      if (posted >= 3000) throw new Error(`no 1013 after ${posted} messages of 16 KB to a socket that does not read`);
      await Promise.all(Array.from({ length: 25 }, () => post(room, LONG_TEXT)));
      posted += 25;
    }
    socket.resume();
    expect((await client.waitClosed(20_000)).code).toBe(1013);
  });
});
