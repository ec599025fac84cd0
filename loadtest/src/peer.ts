/**
 * Launches a peer in the same topology as Roomcast's local cluster: one
 * redis-server, N peer replicas (p1..pN) and nginx with the same config
 * template (deploy/nginx), using the launcher's building blocks. The peers
 * live in peer/: `socketio` (Socket.IO 4 + redis-adapter, what compare-peer
 * measures against) and `floor` (the least a replica can do, a yardstick).
 *
 * The peer's TypeScript is transpiled once to plain JS (typescript's
 * transpileModule) so its replicas run on bare `node`, like Roomcast's
 * compiled dist/main.js: no loader, no extra process, a fair memory figure.
 */
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { startNginx, startRedis, startReplica, type NginxHandle, type RedisHandle, type ReplicaHandle } from '@roomcast/deploy/local';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Inside loadtest/ so that `socket.io` and friends resolve from node_modules. */
const buildDir = path.join(here, '..', '.cache', 'peer');

export interface PeerCluster {
  url: string;
  redis: RedisHandle;
  nginx: NginxHandle;
  replicas: ReplicaHandle[];
  stop(): Promise<void>;
}

export type PeerName = 'socketio' | 'floor';

export async function buildPeer(peer: PeerName): Promise<string> {
  const source = path.join(here, '..', 'peer', `${peer}-server.ts`);
  const out = path.join(buildDir, `${peer}-server.mjs`);
  const code = ts.transpileModule(await readFile(source, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: source,
  }).outputText;
  await mkdir(buildDir, { recursive: true });
  await writeFile(out, code);
  return out;
}

export async function startPeerCluster(opts: { peer: PeerName; replicas: number; workers: number }): Promise<PeerCluster> {
  const entry = await buildPeer(opts.peer);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'roomcast-peer-'));
  // nginx workers run as nobody when we are root: they must reach nginx/.
  await chmod(dir, 0o755);
  const stops: Array<() => Promise<void>> = [() => rm(dir, { recursive: true, force: true })];
  const stop = async (): Promise<void> => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
    stops.length = 0;
  };
  try {
    // The peers store nothing, so persistence would change nothing; Roomcast's redis keeps its AOF on.
    const redis = await startRedis({ appendonly: false, dataDir: path.join(dir, 'redis') });
    stops.push(() => redis.stop());
    const replicas: ReplicaHandle[] = [];
    stops.push(async () => {
      await Promise.all(replicas.map((r) => r.stop()));
    });
    for (let i = 0; i < opts.replicas; i++) {
      // `secret` is required by the launcher; the peer ignores it.
      replicas.push(await startReplica({ nodeId: `p${i + 1}`, redisUrl: redis.url, secret: 'peer', entry }));
    }
    const nginx = await startNginx({ upstreams: replicas.map((r) => r.port), workers: opts.workers, runDir: path.join(dir, 'nginx') });
    stops.push(() => nginx.stop());
    return { url: nginx.url, redis, nginx, replicas, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
