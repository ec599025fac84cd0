/**
 * What a scenario runs against: a URL given by the user, or a local cluster
 * (Roomcast or a peer, see peer.ts) that the tool launches and stops itself.
 * A launched cluster also gives the pids whose CPU and memory are measured.
 */
import { startCluster, type ReplicaHandle } from '@roomcast/deploy/local';
import { startPeerCluster } from './peer.js';
import { parsePids, type PidGroups } from './procstat.js';
import { RoomcastTransport } from './roomcast.js';
import { SocketIoTransport } from './socketio.js';
import type { Transport } from './transport.js';

/** `floor` speaks the Roomcast wire contract but promises no order (see peer/floor-server.ts). */
export type Stack = 'roomcast' | 'socketio' | 'floor';

export const stackNames: Record<Stack, string> = { roomcast: 'Roomcast', socketio: 'Socket.IO peer', floor: 'floor peer' };

export function transportFor(stack: Stack, url: string, secret?: string): Transport {
  if (stack === 'socketio') return new SocketIoTransport(url);
  return stack === 'floor' ? new RoomcastTransport(url, undefined, false) : new RoomcastTransport(url, secret);
}

export interface Target {
  stack: Stack;
  url: string;
  transport: Transport;
  /** True when this tool started the servers (and will stop them). */
  launched: boolean;
  /** Current pids by group (replicas, nginx, redis), when known. */
  pidGroups: (() => PidGroups) | undefined;
  /** The launched replicas (chaos kills one). */
  replicas: ReplicaHandle[];
  stop(): Promise<void>;
}

export interface TargetOptions {
  stack: Stack;
  /** http://host:port of an existing deployment; absent: launch a local cluster. */
  url?: string;
  /** --pids for a URL target. */
  pids?: string;
  /** --secret: CHAT_JWT_SECRET of a URL target, to mint tokens instead of logging in. */
  secret?: string;
  replicas: number;
  /** nginx worker processes of a launched cluster. */
  workers: number;
  /** Extra environment for launched Roomcast replicas. */
  env: Record<string, string>;
  /** Entry point of launched Roomcast replicas; default server/dist/main.js. */
  entry?: string;
}

export async function openTarget(opts: TargetOptions): Promise<Target> {
  if (opts.url) {
    const url = opts.url.replace(/\/+$/, '');
    const groups = opts.pids ? parsePids(opts.pids) : undefined;
    return {
      stack: opts.stack,
      url,
      transport: transportFor(opts.stack, url, opts.secret),
      launched: false,
      pidGroups: groups ? () => groups : undefined,
      replicas: [],
      stop: async () => undefined,
    };
  }
  if (opts.stack !== 'roomcast') {
    const peer = await startPeerCluster({ peer: opts.stack, replicas: opts.replicas, workers: opts.workers });
    return {
      stack: opts.stack,
      url: peer.url,
      transport: transportFor(opts.stack, peer.url),
      launched: true,
      pidGroups: () => ({ replicas: peer.replicas.filter((r) => r.alive).map((r) => r.pid), nginx: [peer.nginx.pid], redis: [peer.redis.pid] }),
      replicas: peer.replicas,
      stop: () => peer.stop(),
    };
  }
  const cluster = await startCluster({ replicas: opts.replicas, workers: opts.workers, env: opts.env, entry: opts.entry });
  return {
    stack: 'roomcast',
    url: cluster.url,
    transport: transportFor('roomcast', cluster.url, cluster.secret),
    launched: true,
    pidGroups: () => ({
      replicas: cluster.replicas.filter((r) => r.alive).map((r) => r.pid),
      nginx: [cluster.nginx.pid],
      redis: [cluster.redis.pid],
    }),
    replicas: cluster.replicas,
    stop: () => cluster.stop(),
  };
}

/**
 * Reports launched replicas that exit while a scenario runs, unless the
 * scenario said it would kill them (chaos). Returns the expect and stop hooks.
 */
export function watchReplicas(target: Target, report: (what: string) => void): { expect(nodeId: string): void; stop(): void } {
  const expected = new Set<string>();
  const offs = target.replicas.map((r) =>
    r.onExit((exit) => {
      if (expected.delete(r.nodeId)) return;
      report(`replica ${r.nodeId} exited unexpectedly (${exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`}): was it stopped from outside?`);
    }),
  );
  return {
    expect: (nodeId) => expected.add(nodeId),
    stop: () => offs.forEach((off) => off()),
  };
}
