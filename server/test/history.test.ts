/**
 * Join replay against a bounded history (HISTORY_MAX_LEN=60): the last 50
 * without since, exactly the later messages with since, `truncated` when
 * something after since was trimmed, and no gap or duplicate between replay
 * and live messages.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { compareIds, type ChatMessage, type LoginResponse, type MessagesPage } from '../src/protocol.js';
import { TestClient } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { login, request } from './support/http.js';

const MAX_LEN = 60;
const POSTED = 100;

const harness = useTestCluster({ HISTORY_MAX_LEN: String(MAX_LEN) });
const { clients } = harness;
let poster: LoginResponse;
let reader: LoginResponse;
/** Ids of everything posted to ROOM, in order (markers included). */
const posted: string[] = [];
const ROOM = 'history';

beforeAll(async () => {
  poster = await login(harness.cluster.url, 'poster');
  reader = await login(harness.cluster.url, 'reader');
  for (let i = 0; i < POSTED; i++) posted.push((await postTo(harness.cluster.replicas[i % 3]!.url, ROOM, `h${i}`)).id);
});

async function postTo(baseUrl: string, room: string, text: string): Promise<ChatMessage> {
  const res = await request<ChatMessage>(baseUrl, `/api/rooms/${room}/messages`, { token: poster.token, body: { text } });
  expect(res.status).toBe(201);
  return res.body;
}

/** Every id the room retains, read back through the paging API. */
async function allRetained(room: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (;;) {
    const query = before === undefined ? '?limit=100' : `?before=${before}&limit=100`;
    const page = (await request<MessagesPage>(harness.cluster.url, `/api/rooms/${room}/messages${query}`, { token: reader.token })).body;
    if (page.messages.length === 0) return ids;
    ids.unshift(...page.messages.map((m) => m.id));
    before = page.messages[0]!.id;
  }
}

async function open(replica: number, label: string): Promise<TestClient> {
  const client = await TestClient.connect(replicaWsUrl(harness.cluster, replica), reader.token, label);
  clients.add(client);
  return client;
}

/**
 * Joins, then posts a marker message and waits for it: everything received
 * before the marker is the replay. Returns the joined frame and the replayed ids.
 */
async function joinAndReplay(client: TestClient, room: string, since?: string) {
  const joined = await client.join(room, since);
  const marker = await postTo(harness.cluster.url, room, `marker after join ${since ?? ''}`);
  await client.waitForId(room, marker.id);
  const ids = client.messages(room).map((m) => m.id);
  expect(ids.at(-1)).toBe(marker.id);
  expect(ids.filter((id) => id === marker.id)).toHaveLength(1);
  if (room === ROOM) posted.push(marker.id);
  return { joined, replay: ids.slice(0, -1) };
}

describe('bounded history', () => {
  it('keeps at least HISTORY_MAX_LEN messages, the newest ones', async () => {
    const retained = await allRetained(ROOM);
    expect(retained.length).toBeGreaterThanOrEqual(MAX_LEN);
    expect(retained.length).toBeLessThan(POSTED);
    expect(retained).toEqual(posted.slice(posted.length - retained.length));
  });
});

describe('join replay', () => {
  it('without since: the most recent 50 messages, oldest first', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(0, 'no-since');
    const expected = retained.slice(-50);
    const { joined, replay } = await joinAndReplay(client, ROOM);
    expect(joined.type).toBe('joined');
    expect(replay).toEqual(expected);
  });

  it('with since older than what is retained: every retained message, truncated true', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(1, 'old-since');
    const expected = [...retained];
    const { joined, replay } = await joinAndReplay(client, ROOM, posted[0]);
    expect(joined.truncated).toBe(true);
    expect(replay).toEqual(expected);
  });

  it('with since = the newest trimmed id: nothing lost, truncated false', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(2, 'edge-since');
    const expected = [...retained];
    const lastTrimmed = posted[posted.indexOf(retained[0]!) - 1]!;
    const { joined, replay } = await joinAndReplay(client, ROOM, lastTrimmed);
    expect(joined.truncated).toBe(false);
    expect(replay).toEqual(expected);
  });

  it('with since = the trimmed id before that: truncated true', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(0, 'edge-minus-one');
    const justBefore = posted[posted.indexOf(retained[0]!) - 2]!;
    const { joined } = await joinAndReplay(client, ROOM, justBefore);
    expect(joined.truncated).toBe(true);
  });

  it('with since = a retained id: exactly the later messages, truncated false', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(1, 'mid-since');
    const since = retained[retained.length - 12]!;
    const expected = retained.slice(retained.length - 11);
    const { joined, replay } = await joinAndReplay(client, ROOM, since);
    expect(joined.truncated).toBe(false);
    expect(replay).toEqual(expected);
  });

  it('with since = the newest id: no replay, then live messages', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(2, 'up-to-date');
    const { joined, replay } = await joinAndReplay(client, ROOM, retained.at(-1));
    expect(joined.truncated).toBe(false);
    expect(replay).toEqual([]);
  });

  it('joining a room already joined replays again', async () => {
    const retained = await allRetained(ROOM);
    const client = await open(0, 'rejoin');
    const since = retained.at(-3)!;
    await client.join(ROOM, since);
    const { replay } = await joinAndReplay(client, ROOM, since);
    const lastTwo = retained.slice(-2);
    expect(replay).toEqual([...lastTwo, ...lastTwo]);
  });

  it('replay and live messages together have no gap and no duplicate while others publish', async () => {
    const room = 'busy';
    const before: string[] = [];
    for (let i = 0; i < 10; i++) before.push((await postTo(harness.cluster.replicas[1]!.url, room, `before ${i}`)).id);
    // Publish continuously from two replicas while a third socket joins with since.
    const live: Promise<ChatMessage>[] = [];
    let publishing = true;
    const publisher = (async () => {
      for (let i = 0; publishing && i < 40; i++) {
        live.push(postTo(harness.cluster.replicas[i % 2]!.url, room, `during ${i}`));
        await live.at(-1);
      }
    })();
    const client = await open(2, 'busy-joiner');
    const since = before[4]!;
    await client.join(room, since);
    publishing = false;
    await publisher;
    const all = [...before, ...(await Promise.all(live)).map((m) => m.id)];
    await client.waitForId(room, all.at(-1)!, 10_000);
    const seen = client.messages(room).map((m) => m.id);
    expect(seen).toEqual(all.filter((id) => compareIds(id, since) > 0));
  });
});
