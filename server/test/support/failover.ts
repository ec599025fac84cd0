/**
 * A Redis failover under load, through the real replicas: the scenario the
 * Cluster and Sentinel tests share. Clients on every replica keep sending
 * into one busy room while `failover()` kills the master that holds it; a
 * client that was away resumes across it.
 *
 * What it asserts (each could fail):
 * - every send ends with exactly one outcome (its message or an `error`),
 *   and `internal` only for a message that is not in the log;
 * - no client stays stuck: after the failover everyone's message reaches everyone;
 * - no client gets a message twice, and every client that stayed connected
 *   ends with the same order, ids increasing;
 * - a client that resumes across a failover that lost acknowledged messages
 *   newer than its `since` is told `truncated`.
 * It returns how many acknowledged messages the failover lost: Redis
 * replication is asynchronous, so this is measured, not assumed zero.
 */
import type { Cluster } from '@roomcast/deploy/local';
import { expect } from 'vitest';
import type { ChatMessage, JoinedFrame, MessagesPage, ServerFrame } from '../../src/protocol.js';
import { compareIds } from '../../src/protocol.js';
import { TestClient, closeAll, isError, isMessage, newRef } from './client.js';
import { replicaWsUrl } from './cluster.js';
import { request, until } from './http.js';
import { mintToken, nowSeconds } from './tokens.js';

export interface FailoverReport {
  sent: number;
  acknowledged: number;
  refused: number;
  /** Acknowledged messages no longer in the log after the failover. */
  lostAcknowledged: number;
  resumedTruncated: boolean;
}

/** Each sender's pace: under the per-socket limit of 10 sends/s. */
const SEND_EVERY_MS = 150;

export async function failoverUnderLoad(cluster: Cluster, room: string, failover: () => Promise<void>): Promise<FailoverReport> {
  const token = (name: string) => mintToken(cluster.secret, { sub: `u_${name}`, name, exp: nowSeconds() + 3600 });
  const clients: TestClient[] = [];
  try {
    for (let i = 0; i < cluster.replicas.length * 2; i++) {
      const client = await TestClient.connect(replicaWsUrl(cluster, i % cluster.replicas.length), await token(`sender${i}`), `sender${i}`, 10_000, true);
      await client.join(room);
      clients.push(client);
    }
    // The client that is away during the failover: it remembers where it was.
    const away = await TestClient.connect(cluster.wsUrl, await token('away'), 'away', 10_000, true);
    const joined = await away.join(room);
    const warmup = (await clients[0]!.say(room, 'warm-up')) as ChatMessage;
    await away.waitForId(room, warmup.id);
    const since = warmup.id;
    await away.close();

    const refs = new Map<TestClient, string[]>(clients.map((client) => [client, []]));
    let sending = true;
    const senders = clients.map(async (client) => {
      while (sending) {
        const ref = newRef(client.label);
        refs.get(client)!.push(ref);
        client.send({ type: 'send', room, text: ref, ref });
        await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
      }
    });
    // Load before, during and after the failover.
    await until(() => refs.get(clients[0]!)!.length >= 5, 10_000, 'load to run');
    await failover();
    const after = refs.get(clients[0]!)!.length;
    await until(() => refs.get(clients[0]!)!.length >= after + 10, 30_000, 'load to run after the failover');
    sending = false;
    await Promise.all(senders);

    // Exactly one outcome for every send.
    let acknowledged = 0;
    let refused = 0;
    const acked: string[] = [];
    for (const [client, mine] of refs) {
      for (const ref of mine) {
        const outcome = await client.seen((f) => (isMessage(f) || isError(f)) && f.ref === ref, 30_000, `the outcome of ${ref}`);
        if (isMessage(outcome)) {
          acknowledged++;
          acked.push(outcome.id);
        } else refused++;
      }
    }
    // No client stuck: a message from each reaches all.
    const finals: ChatMessage[] = [];
    for (const client of clients) finals.push((await client.say(room, `final from ${client.label}`, newRef('final'), 15_000)) as ChatMessage);
    for (const client of clients) for (const final of finals) await client.waitForId(room, final.id, 15_000);
    for (const client of clients) {
      for (const ref of refs.get(client)!) {
        const outcomes = client.received.filter((f: ServerFrame) => (isMessage(f) || isError(f)) && f.ref === ref);
        expect(outcomes, `outcomes of ${ref}`).toHaveLength(1);
      }
    }

    // No duplicates, ids increasing, one order for all.
    const orders = clients.map((client) => client.messages(room).map((m) => m.id));
    for (const [i, order] of orders.entries()) {
      expect(new Set(order).size, `${clients[i]!.label} got a message twice`).toBe(order.length);
      for (let k = 1; k < order.length; k++) expect(compareIds(order[k - 1]!, order[k]!), `${clients[i]!.label} out of order`).toBeLessThan(0);
      expect(order, `${clients[i]!.label}'s order`).toEqual(orders[0]);
    }

    // What the log still holds: an acknowledged message missing from it was lost by the failover.
    const history = await request<MessagesPage>(cluster.url, `/api/rooms/${room}/messages?limit=100`, { token: await token('reader') });
    const held = new Set(history.body.messages.map((m) => m.id));
    const oldest = history.body.messages[0]?.id;
    const lost = acked.filter((id) => !held.has(id) && oldest !== undefined && compareIds(id, oldest) > 0);
    // A refusal (`internal`) must be true: that message is nowhere in the log.
    for (const client of clients) {
      for (const frame of client.received) if (isError(frame) && frame.ref && history.body.messages.some((m) => m.ref === frame.ref)) {
        throw new Error(`${frame.ref} was refused (${frame.code}) but is stored`);
      }
    }

    // The client that was away resumes across the failover.
    const back = await TestClient.connect(cluster.wsUrl, await token('away'), 'away again', 10_000, true);
    clients.push(back);
    back.send({ type: 'join', room, since, epoch: joined.epoch });
    const resumed = await back.next<JoinedFrame>((f) => f.type === 'joined' && f.room === room);
    if (lost.some((id) => compareIds(id, since) > 0)) expect(resumed.truncated, 'a resume across a failover that lost messages').toBe(true);

    return {
      sent: [...refs.values()].reduce((n, list) => n + list.length, 0),
      acknowledged,
      refused,
      lostAcknowledged: lost.length,
      resumedTruncated: resumed.truncated,
    };
  } finally {
    await closeAll(clients);
  }
}
