/**
 * Graceful shutdown: SIGTERM to a replica closes its sockets with 1012,
 * removes its users from presence (telling the other replicas at once, not
 * after a TTL) and exits 0. Started again, it serves the room again.
 */
import type { Cluster, ExitInfo } from '@roomcast/deploy/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatMessage, PresenceFrame, PresenceList } from '../src/protocol.js';
import { TestClient, closeAll, isPresence } from './support/client.js';
import { replicaWsUrl, startTestCluster } from './support/cluster.js';
import { login, request } from './support/http.js';

const ROOM = 'deploy';

let cluster: Cluster;
const clients = new Set<TestClient>();

beforeAll(async () => {
  // A long presence TTL: whatever leaves presence here was removed by the
  // shutdown itself, not by another replica's sweep.
  cluster = await startTestCluster({ PRESENCE_HEARTBEAT_MS: '1000', PRESENCE_TTL_MS: '60000', PRESENCE_SWEEP_MS: '1000' });
});
afterAll(async () => {
  await closeAll(clients);
  await cluster?.stop();
});

async function open(index: number, token: string, label: string): Promise<TestClient> {
  const client = await TestClient.connect(replicaWsUrl(cluster, index), token, label);
  clients.add(client);
  await client.join(ROOM);
  return client;
}

describe('SIGTERM', () => {
  it('closes the replica sockets with 1012, removes its users from presence, exits 0', async () => {
    const n1 = cluster.replicas[0]!;
    const leaver = await login(cluster.url, 'leaver');
    const both = await login(cluster.url, 'both');
    const watcherSession = await login(cluster.url, 'watcher');
    const leaverSocket = await open(0, leaver.token, 'leaver@n1');
    const bothOnN1 = await open(0, both.token, 'both@n1');
    await open(2, both.token, 'both@n3');
    const watcher = await open(1, watcherSession.token, 'watcher@n2');

    const exits: ExitInfo[] = [];
    n1.onExit((exit) => exits.push(exit));
    const stopped = n1.stop();
    expect((await leaverSocket.waitClosed()).code).toBe(1012);
    expect((await bothOnN1.waitClosed()).code).toBe(1012);
    await stopped;
    expect(exits).toEqual([{ code: 0, signal: null }]);

    // n1 removed its own members before exiting: the diff is already on its way.
    const left = await watcher.seen<PresenceFrame>(
      (f) => isPresence(f) && f.left.some((u) => u.id === leaver.user.id),
      5000,
      'leaver left',
    );
    expect(left.left).toEqual([leaver.user]);
    const users = (await request<PresenceList>(cluster.url, `/api/rooms/${ROOM}/presence`, { token: watcherSession.token })).body.users;
    expect(users.map((u) => u.name).sort()).toEqual(['both', 'watcher']);
    // "both" still has a socket on n3: never reported left.
    expect(watcher.received.filter(isPresence).some((f) => f.left.some((u) => u.id === both.user.id))).toBe(false);

    // Started again on its port, it serves the room again.
    await n1.start();
    const back = await open(0, leaver.token, 'leaver@n1-again');
    expect(back.node).toBe('n1');
    const sent = (await back.say(ROOM, 'back again')) as ChatMessage;
    expect(sent.type).toBe('message');
    await watcher.waitForId(ROOM, sent.id);
  });
});
