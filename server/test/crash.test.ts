/**
 * kill -9 of one replica while clients send: its clients reconnect through
 * nginx to the survivors and resume with `since`; everyone ends with every
 * acknowledged message, no gap and no duplicate; the dead replica's users
 * leave presence and the survivors' sockets are told.
 */
import type { Cluster } from '@roomcast/deploy/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  compareIds,
  type ChatMessage,
  type LoginResponse,
  type MessagesPage,
  type PresenceFrame,
  type PresenceList,
} from '../src/protocol.js';
import { TestClient, closeAll, isError, isMessage, isPresence, newRef } from './support/client.js';
import { replicaWsUrl, startTestCluster } from './support/cluster.js';
import { login, request, until } from './support/http.js';

const ROOM = 'crash';
/** Pause between two sends of one sender: paces the load, synchronises nothing. */
const SEND_EVERY_MS = 20;

let cluster: Cluster;
const everyClient = new Set<TestClient>();

beforeAll(async () => {
  cluster = await startTestCluster({ RATE_MESSAGES_PER_SEC: '1000', RATE_BURST: '1000' });
});
afterAll(async () => {
  await closeAll(everyClient);
  await cluster?.stop();
});

/** A user's socket over time: the first one, then the one it reconnected with. */
class Participant {
  readonly sockets: TestClient[] = [];
  /** Sends made, with the socket they went out on. */
  readonly sends: Array<{ ref: string; socket: TestClient }> = [];
  private sending = false;
  private loop: Promise<void> | undefined;

  constructor(
    readonly session: LoginResponse,
    readonly label: string,
  ) {}

  get current(): TestClient {
    return this.sockets.at(-1)!;
  }

  async connect(url: string): Promise<TestClient> {
    const socket = await TestClient.connect(url, this.session.token, `${this.label}#${this.sockets.length + 1}`);
    everyClient.add(socket);
    this.sockets.push(socket);
    return socket;
  }

  /** Every message this user saw in the room, over all its sockets, in order. */
  messages(): ChatMessage[] {
    return this.sockets.flatMap((socket) => socket.messages(ROOM));
  }

  lastSeenId(): string | undefined {
    return this.messages().at(-1)?.id;
  }

  /** Reconnects through nginx and resumes from the last id seen. */
  async resume(): Promise<TestClient> {
    const since = this.lastSeenId();
    const socket = await this.connect(cluster.wsUrl);
    await socket.join(ROOM, since);
    return socket;
  }

  startSending(): void {
    this.sending = true;
    this.loop = (async () => {
      while (this.sending) {
        const socket = this.current;
        if (socket.isOpen) {
          const ref = newRef(this.label);
          this.sends.push({ ref, socket });
          socket.send({ type: 'send', room: ROOM, text: `${this.label} ${ref}`, ref });
        }
        await new Promise((resolve) => setTimeout(resolve, SEND_EVERY_MS));
      }
    })();
  }

  async stopSending(): Promise<void> {
    this.sending = false;
    await this.loop;
  }

  /** Ids the server acknowledged to this user (its own messages, with their refs). */
  acknowledged(): string[] {
    const refs = new Set(this.sends.map((s) => s.ref));
    return this.messages()
      .filter((m) => m.ref !== undefined && refs.has(m.ref) && m.user.id === this.session.user.id)
      .map((m) => m.id);
  }
}

async function fullHistory(token: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (;;) {
    const query = before === undefined ? '?limit=100' : `?before=${before}&limit=100`;
    const res = await request<MessagesPage>(cluster.url, `/api/rooms/${ROOM}/messages${query}`, { token });
    expect(res.status).toBe(200);
    if (res.body.messages.length === 0) return ids;
    ids.unshift(...res.body.messages.map((m) => m.id));
    before = res.body.messages[0]!.id;
  }
}

function expectStrictlyIncreasing(ids: string[], who: string): void {
  for (let i = 1; i < ids.length; i++) {
    if (compareIds(ids[i]!, ids[i - 1]!) <= 0) throw new Error(`${who}: ${ids[i]} after ${ids[i - 1]} (duplicate or out of order)`);
  }
}

describe('a replica killed with SIGKILL', () => {
  it('loses no acknowledged message, duplicates none, and its users leave presence', async () => {
    const [n1, n2, n3] = cluster.replicas;
    const make = async (name: string) => new Participant(await login(cluster.url, name), name);
    const victimSender = await make('victim-sender');
    const victimReader = await make('victim-reader');
    const ghost = await make('ghost'); // on n1 only, never comes back
    const sender2 = await make('sender-2');
    const sender3 = await make('sender-3');

    await victimSender.connect(replicaWsUrl(cluster, 0));
    await victimReader.connect(replicaWsUrl(cluster, 0));
    await ghost.connect(replicaWsUrl(cluster, 0));
    await sender2.connect(replicaWsUrl(cluster, 1));
    await sender3.connect(replicaWsUrl(cluster, 2));
    expect([victimSender, victimReader, ghost, sender2, sender3].map((p) => p.current.node)).toEqual(['n1', 'n1', 'n1', 'n2', 'n3']);
    for (const p of [victimSender, victimReader, ghost, sender2, sender3]) await p.current.join(ROOM);

    const senders = [victimSender, sender2, sender3];
    for (const sender of senders) sender.startSending();

    // Let traffic flow on every replica, then crash n1 in the middle of it.
    const fromEveryReplica = () => {
      const users = new Set(sender2.current.messages(ROOM).map((m) => m.user.id));
      return sender2.current.messages(ROOM).length >= 45 && senders.every((s) => users.has(s.session.user.id));
    };
    await sender2.current.seen(fromEveryReplica, 10_000, 'traffic from every replica');
    await n1!.kill('SIGKILL');
    expect(n1!.alive).toBe(false);

    // n1's sockets drop; its clients reconnect through nginx and resume.
    for (const victim of [victimSender, victimReader, ghost]) await victim.current.waitClosed();
    const resumed = await Promise.all([victimSender.resume(), victimReader.resume()]);
    for (const socket of resumed) expect(['n2', 'n3']).toContain(socket.node);

    // Keep sending for a while after the crash, from every sender.
    const afterCrash = sender3.current.messages(ROOM).length;
    await sender3.current.seen(
      () => sender3.current.messages(ROOM).length >= afterCrash + 60,
      15_000,
      '60 more messages after the crash',
    );
    for (const sender of senders) await sender.stopSending();

    // Every send made on a socket that is still open gets exactly one outcome, a stored message.
    for (const sender of senders) {
      for (const { ref, socket } of sender.sends) {
        if (socket.closeInfo) continue; // sent to n1: its fate is unknown, and allowed to be
        const outcome = await socket.outcome(ref, 10_000);
        expect(outcome, ref).toMatchObject({ type: 'message', ref });
        expect(socket.received.filter((f) => (isMessage(f) || isError(f)) && f.ref === ref), ref).toHaveLength(1);
      }
    }

    // A final message as a barrier: once everyone has it, everyone has everything before it.
    const final = (await sender2.current.say(ROOM, 'final')) as ChatMessage;
    expect(final.type).toBe('message');
    const readers = [victimSender, victimReader, sender2, sender3];
    for (const reader of readers) await reader.current.waitForId(ROOM, final.id, 10_000);

    const history = await fullHistory(sender2.session.token);
    expect(history.length).toBeGreaterThan(100);
    expect(history.at(-1)).toBe(final.id);
    const acknowledged = senders.flatMap((s) => s.acknowledged());
    expect(acknowledged.length).toBeGreaterThan(100);
    const stored = new Set(history);
    for (const id of acknowledged) expect(stored.has(id), `acknowledged ${id} is in history`).toBe(true);

    for (const reader of readers) {
      const seen = reader.messages().map((m) => m.id);
      expectStrictlyIncreasing(seen, reader.label);
      // Joined before the first message: saw all of history, nothing else, nothing twice.
      expect(seen, reader.label).toEqual(history);
    }

    // The ghost (only ever on n1) is reported left to the survivors' sockets and drops out of the API.
    const leftGhost = (f: PresenceFrame) => f.left.some((u) => u.id === ghost.session.user.id);
    for (const survivor of [sender2, sender3]) {
      await survivor.current.seen((f) => isPresence(f) && leftGhost(f), 15_000, 'ghost left');
    }
    const presence = async () =>
      (await request<PresenceList>(cluster.url, `/api/rooms/${ROOM}/presence`, { token: sender2.session.token })).body.users;
    await until(async () => !(await presence()).some((u) => u.id === ghost.session.user.id), 15_000, 'ghost to leave the presence API');
    const names = (await presence()).map((u) => u.name).sort();
    expect(names).toEqual(['sender-2', 'sender-3', 'victim-reader', 'victim-sender']);
    expect(n2!.alive && n3!.alive).toBe(true);
  });
});
