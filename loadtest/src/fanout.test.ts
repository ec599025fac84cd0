/**
 * One short real run per stack: a single replica on its in-memory broker
 * (and a single process of each peer), low rate, zero loss expected.
 */
import { startReplica, type ReplicaHandle } from '@roomcast/deploy/local';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConnections, runConnections } from './connections.js';
import { defaultLoad, runLoad } from './load.js';
import { buildPeer } from './peer.js';
import { Progress } from './progress.js';
import { transportFor, type Target } from './target.js';

const quiet = new Progress(process.stderr, false, 3600);

const SECRET = 'loadtest-test-secret-0123456789abcdef';

function targetOf(replica: ReplicaHandle, stack: Target['stack']): Target {
  return {
    stack,
    url: replica.url,
    transport: transportFor(stack, replica.url, SECRET),
    launched: true,
    pidGroups: () => ({ replicas: [replica.pid] }),
    replicas: [replica],
    stop: async () => undefined,
  };
}

const cfg = { ...defaultLoad, rooms: 2, clientsPerRoom: 5, rate: 40, warmupSec: 0.5, durationSec: 3, drainSec: 5 };

describe('fanout against a real single replica', () => {
  let roomcast: ReplicaHandle;
  let peer: ReplicaHandle;
  let floor: ReplicaHandle;
  beforeAll(async () => {
    [roomcast, peer, floor] = await Promise.all([
      startReplica({ nodeId: 'lt1', secret: SECRET }),
      buildPeer('socketio').then((entry) => startReplica({ nodeId: 'sio1', secret: 'unused', entry })),
      buildPeer('floor').then((entry) => startReplica({ nodeId: 'floor1', secret: 'unused', entry })),
    ]);
  });
  afterAll(async () => {
    await Promise.all([roomcast?.stop(), peer?.stop(), floor?.stop()]);
  });

  it('Roomcast: every acknowledged message reaches every member once, in order', async () => {
    const r = await runLoad({ ...cfg, scenario: 'test' }, targetOf(roomcast, 'roomcast'), quiet);
    expect(r.totals.connected).toBe(10);
    expect(r.totals.acked).toBeGreaterThan(0);
    expect(r.totals.windowDeliveries).toBeGreaterThan(0);
    expect(r.totals.deliveries).toBe(r.totals.expectedDeliveries);
    expect(r.totals).toMatchObject({ lost: 0, duplicated: 0, outOfOrder: 0, idMismatches: 0, failed: 0 });
    expect(r.latency.count).toBeGreaterThan(0);
    expect(r.series.length).toBeGreaterThan(0);
    expect(r.server?.cpuUsPerDelivery.total).toBeGreaterThan(0);
    expect(r.pass).toBe(true);
  });

  it('Socket.IO peer: the same accounting holds', async () => {
    const r = await runLoad({ ...cfg, scenario: 'test' }, targetOf(peer, 'socketio'), quiet);
    expect(r.totals.connected).toBe(10);
    expect(r.totals.acked).toBeGreaterThan(0);
    expect(r.totals).toMatchObject({ lost: 0, duplicated: 0, idMismatches: 0 });
    expect(r.pass).toBe(true);
  });

  it('floor peer: speaks enough of the contract for the same accounting', async () => {
    const r = await runLoad({ ...cfg, scenario: 'test' }, targetOf(floor, 'floor'), quiet);
    expect(r.totals.connected).toBe(10);
    expect(r.totals.windowDeliveries).toBeGreaterThan(0);
    expect(r.totals.deliveries).toBe(r.totals.expectedDeliveries);
    expect(r.totals).toMatchObject({ lost: 0, duplicated: 0, idMismatches: 0 });
    expect(r.server?.cpuUsPerDelivery.total).toBeGreaterThan(0);
    expect(r.pass).toBe(true);
  });

  it('connections: sockets with minted tokens open, and memory is measured', async () => {
    const r = await runConnections({ ...defaultConnections, count: 20, rate: 200, rooms: 2, holdSec: 0.5 }, targetOf(roomcast, 'roomcast'), quiet);
    expect(r.totals.connectErrors).toEqual({});
    expect(r.totals.connected).toBe(20);
    expect(r.connect.socket.count).toBe(20);
    expect(r.connect.join.count).toBe(20);
    expect(r.server?.rssPerConnectionKiB?.replicas).toBeTypeOf('number');
    expect(r.pass).toBe(true);
  });
});
