/**
 * The real thing: redis + two replicas of server/dist/main.js + nginx, talked
 * to only through nginx. Needs `npm run build -w server` first (the root
 * `npm test` builds).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { startCluster, type Cluster } from './cluster.js';
import { defaultServerEntry } from './paths.js';
import { httpStatus } from './replica.js';

interface Welcome {
  type: 'welcome';
  user: { id: string; name: string };
  connectionId: string;
  node: string;
}

async function login(cluster: Cluster, name: string): Promise<{ token: string; user: { id: string; name: string } }> {
  const res = await fetch(`${cluster.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { token: string; user: { id: string; name: string } };
}

async function openSocket(cluster: Cluster, token: string): Promise<{ socket: WebSocket; welcome: Welcome }> {
  const socket = new WebSocket(`${cluster.wsUrl}?token=${encodeURIComponent(token)}`);
  const [data] = (await once(socket, 'message')) as [Buffer];
  return { socket, welcome: JSON.parse(data.toString()) as Welcome };
}

describe('startCluster', () => {
  let cluster: Cluster;
  const sockets: WebSocket[] = [];

  beforeAll(async () => {
    if (!existsSync(defaultServerEntry)) {
      throw new Error(`${defaultServerEntry} is missing: run \`npm run build -w server\` first`);
    }
    cluster = await startCluster({ replicas: 2 });
  });
  afterAll(async () => {
    for (const socket of sockets) socket.terminate();
    await cluster?.stop();
  });

  it('starts redis, replicas n1..n2 and nginx on loopback ports', async () => {
    expect(cluster.replicas.map((r) => r.nodeId)).toEqual(['n1', 'n2']);
    for (const replica of cluster.replicas) {
      expect(replica.alive).toBe(true);
      expect(await httpStatus(replica.port, '/healthz')).toBe(200);
    }
    expect(cluster.url).toBe(`http://127.0.0.1:${cluster.nginx.port}`);
    expect(cluster.wsUrl).toBe(`ws://127.0.0.1:${cluster.nginx.port}/ws`);
  });

  it('logs in through nginx and gets a welcome frame from a replica over /ws', async () => {
    const { token, user } = await login(cluster, 'alice');
    expect(user.name).toBe('alice');
    const first = await openSocket(cluster, token);
    const second = await openSocket(cluster, token);
    sockets.push(first.socket, second.socket);
    expect(first.welcome).toMatchObject({ type: 'welcome', user });
    // least_conn: with one socket held on one replica, the next goes to the other.
    expect(new Set([first.welcome.node, second.welcome.node])).toEqual(new Set(['n1', 'n2']));
  });

  it('routes around a killed replica, which comes back on its port with start()', async () => {
    const replica = cluster.replicas[1]!;
    const oldPid = replica.pid;
    await replica.kill();
    expect(replica.alive).toBe(false);

    const { token } = await login(cluster, 'bob');
    for (let i = 0; i < 3; i++) {
      const { socket, welcome } = await openSocket(cluster, token);
      sockets.push(socket);
      expect(welcome.node).toBe('n1');
    }

    await replica.start();
    expect(replica.alive).toBe(true);
    expect(replica.pid).not.toBe(oldPid);
    expect(await httpStatus(replica.port, '/healthz')).toBe(200);
  });

  it('stop() tears everything down and can be called again', async () => {
    const ports = [cluster.nginx.port, cluster.redis.port, ...cluster.replicas.map((r) => r.port)];
    await cluster.stop();
    await cluster.stop();
    for (const replica of cluster.replicas) expect(replica.alive).toBe(false);
    for (const port of ports) await expect(httpStatus(port, '/')).rejects.toThrow(/ECONNREFUSED/);
    expect(existsSync(cluster.dir)).toBe(false);
  });
});
