/**
 * The whole local topology: one redis-server (append-only file on), N
 * replicas n1..nN, and nginx in front, all on loopback ports picked at runtime.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startNginx, type NginxHandle } from './nginx.js';
import { defaultWebRoot } from './paths.js';
import { startRedis, type RedisHandle } from './redis.js';
import { startReplica, type ReplicaHandle } from './replica.js';

export interface Cluster {
  /** http://127.0.0.1:<nginx port> */
  url: string;
  /** ws://127.0.0.1:<nginx port>/ws */
  wsUrl: string;
  /** CHAT_JWT_SECRET shared by the replicas. */
  secret: string;
  redis: RedisHandle;
  nginx: NginxHandle;
  replicas: ReplicaHandle[];
  /** Holds redis/ (data) and nginx/ (config, logs). */
  dir: string;
  /** Tears everything down; safe to call more than once. */
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Default 3. */
  replicas?: number;
  /** Extra environment for every replica. */
  env?: Record<string, string>;
  /** Default: <repo>/web/dist when it exists. */
  webRoot?: string;
  /** Default: a new temp dir (roomcast-cluster-XXXX), removed by stop(). A given dir is kept. */
  dir?: string;
  /** nginx worker_processes. Default 1. */
  workers?: number;
  /** nginx port. Default: a free port. */
  port?: number;
  /** Replica entry point. Default: <repo>/server/dist/main.js. */
  entry?: string;
}

/** <repo>/web/dist when the web client has been built, else undefined. */
export function builtWebRoot(): string | undefined {
  return existsSync(path.join(defaultWebRoot, 'index.html')) ? defaultWebRoot : undefined;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const replicaCount = opts.replicas ?? 3;
  if (!Number.isInteger(replicaCount) || replicaCount < 1) throw new Error(`replicas must be ≥ 1, got ${replicaCount}`);
  const ownDir = opts.dir === undefined;
  const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-cluster-'))));
  await mkdir(dir, { recursive: true });
  // nginx workers run as nobody when we are root: they must reach nginx/.
  await chmod(dir, 0o755);
  const webRoot = opts.webRoot ?? builtWebRoot();
  const secret = randomBytes(32).toString('hex');

  // Everything started so far, stopped in reverse order on failure or stop().
  const started: Array<() => Promise<void>> = [];
  const teardown = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const stop of started.reverse()) await stop().catch((error: unknown) => errors.push(error));
    started.length = 0;
    if (ownDir) await rm(dir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, 'some cluster processes did not stop cleanly');
  };

  try {
    const redis = await startRedis({ dataDir: path.join(dir, 'redis'), appendonly: true });
    started.push(() => redis.stop());

    const replicas: ReplicaHandle[] = [];
    // Replicas stop before redis (they say goodbye to it) and nginx stops first.
    const stopReplicas = async (): Promise<void> => {
      await Promise.all(replicas.map((replica) => replica.stop()));
    };
    started.push(stopReplicas);
    const results = await Promise.allSettled(
      Array.from({ length: replicaCount }, (_, i) =>
        startReplica({ nodeId: `n${i + 1}`, redisUrl: redis.url, secret, env: opts.env, entry: opts.entry }),
      ),
    );
    for (const result of results) if (result.status === 'fulfilled') replicas.push(result.value);
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;

    const nginx = await startNginx({
      upstreams: replicas.map((replica) => replica.port),
      port: opts.port,
      webRoot,
      workers: opts.workers ?? 1,
      runDir: path.join(dir, 'nginx'),
    });
    started.push(() => nginx.stop());

    let stopping: Promise<void> | undefined;
    return {
      url: nginx.url,
      wsUrl: `ws://127.0.0.1:${nginx.port}/ws`,
      secret,
      redis,
      nginx,
      replicas,
      dir,
      stop: () => (stopping ??= teardown()),
    };
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }
}
