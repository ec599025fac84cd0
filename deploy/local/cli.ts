/**
 * `npm run cluster`: redis + 3 replicas + nginx on this machine, until Ctrl-C.
 *
 *   npm run cluster                       # http://127.0.0.1:8080 (or a free port)
 *   PORT=9000 npm run cluster             # nginx on 9000
 *   npm run cluster -- --logs             # stream the replicas' output
 *   npm run cluster -- --replicas 5 --workers 1
 *   npm run cluster -- --redis cluster    # Redis Cluster: 3 masters + 3 replicas (REDIS_CLUSTER_NODES)
 *   npm run cluster -- --redis sentinel   # master + replica + 3 Sentinels (REDIS_SENTINELS)
 *
 * State lives in <repo>/.cluster (the single redis-server's data survives
 * between runs; a Cluster or Sentinel set starts fresh each time);
 * ROOMCAST_CLUSTER_DIR picks another directory.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtWebRoot, startCluster, type Cluster, type LocalRedis } from './cluster.js';
import { isPortFree } from './ports.js';
import { repoRoot } from './paths.js';
import type { RedisMode } from './topology.js';

const DEFAULT_PORT = 8080;

function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(value)}`);
  return n;
}

async function choosePort(): Promise<number | undefined> {
  if (process.env.PORT) return positiveInt(process.env.PORT, 'PORT');
  return (await isPortFree(DEFAULT_PORT)) ? DEFAULT_PORT : undefined;
}

/**
 * One cluster per state dir: two redis-servers writing one append-only file
 * would corrupt it. The lock is a pid file; a stale one (dead pid) is taken over.
 */
function lockDir(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockFile = path.join(dir, 'cluster.pid');
  let holder: number | undefined;
  try {
    holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10) || undefined;
  } catch {
    // no lock file: the dir is free
  }
  if (holder && holder !== process.pid && isRunning(holder)) {
    throw new Error(
      `another \`npm run cluster\` (pid ${holder}) uses ${dir}: stop it, or set ROOMCAST_CLUSTER_DIR to another directory`,
    );
  }
  writeFileSync(lockFile, `${process.pid}\n`);
  return () => rmSync(lockFile, { force: true });
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const REDIS_MODES: readonly RedisMode[] = ['single', 'sentinel', 'cluster'];

function redisMode(value: string): RedisMode {
  if (!(REDIS_MODES as readonly string[]).includes(value)) {
    throw new Error(`--redis must be one of ${REDIS_MODES.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as RedisMode;
}

/** The Redis part of the banner: every process with its port, role and pid. */
function redisLines(redis: LocalRedis, rel: (p: string) => string): string[] {
  switch (redis.mode) {
    case 'single':
      return [`  redis  ${redis.url}  pid ${redis.pid}  (append-only file in ${rel(redis.dataDir)})`];
    case 'cluster':
      return [
        `  redis  Cluster, ${redis.nodes.length} nodes  (REDIS_CLUSTER_NODES=${redis.seeds}; data in ${rel(redis.dir)}, fresh each run)`,
        ...redis.nodes.map((n) => `         127.0.0.1:${n.port}  ${n.role.padEnd(8)} pid ${n.pid}`),
        `         try: redis-cli -c -p ${redis.nodes[0]?.port} cluster nodes`,
      ];
    case 'sentinel':
      return [
        `  redis  Sentinel '${redis.name}'  (REDIS_SENTINELS=${redis.sentinels} REDIS_SENTINEL_NAME=${redis.name}; data in ${rel(redis.dir)}, fresh each run)`,
        ...redis.dataNodes.map((n) => `         127.0.0.1:${n.port}  ${n.role.padEnd(8)} pid ${n.pid}`),
        ...redis.sentinelNodes.map((n) => `         127.0.0.1:${n.port}  sentinel pid ${n.pid}`),
        `         try: redis-cli -p ${redis.sentinelNodes[0]?.port} sentinel get-master-addr-by-name ${redis.name}`,
      ];
  }
}

function printCluster(cluster: Cluster<LocalRedis>, workers: number, webRoot: string | undefined): void {
  // npm runs us in deploy/: show paths relative to where `npm run` was typed.
  const from = process.env.INIT_CWD ?? process.cwd();
  const rel = (p: string): string => path.relative(from, p) || '.';
  const lines = [
    '',
    `Roomcast is up: ${cluster.url}`,
    '',
    `  web    ${webRoot ? `${rel(webRoot)} served at /` : 'not built (npm run build -w web): / answers 404'}`,
    `  nginx  ${cluster.url}  pid ${cluster.nginx.pid}  (${workers} workers; config, error.log and access.log in ${rel(path.join(cluster.dir, 'nginx'))})`,
    ...redisLines(cluster.redisTopology, rel),
    ...cluster.replicas.map((r) => `  ${r.nodeId.padEnd(5)}  ${r.url}  pid ${r.pid}`),
    '',
    `  try:   curl -XPOST ${cluster.url}/api/login -H 'content-type: application/json' -d '{"name":"alice"}'`,
    '',
    'Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      logs: { type: 'boolean', default: false },
      replicas: { type: 'string', default: '3' },
      workers: { type: 'string', default: '2' },
      redis: { type: 'string', default: 'single' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run cluster [-- --logs] [--replicas N] [--workers N] [--redis single|sentinel|cluster]   (PORT=… picks the nginx port)');
    return;
  }
  const replicas = positiveInt(values.replicas, '--replicas');
  const workers = positiveInt(values.workers, '--workers');
  const redis = redisMode(values.redis);

  const dir = path.resolve(process.env.ROOMCAST_CLUSTER_DIR ?? path.join(repoRoot, '.cluster'));
  const unlock = lockDir(dir);
  process.on('exit', unlock);

  const what = { single: 'redis', sentinel: 'a Redis master, its replica and 3 Sentinels', cluster: 'a Redis Cluster (3 masters, 3 replicas)' }[redis];
  console.log('Starting %s, %d chat replicas and nginx…', what, replicas);
  const webRoot = builtWebRoot();
  const cluster = await startCluster({ webRoot, replicas, workers, port: await choosePort(), dir, redis });

  let stopping = false;
  for (const replica of cluster.replicas) {
    if (values.logs) replica.onLog((line) => console.log(`[${replica.nodeId}] ${line}`));
    replica.onExit((exit) => {
      if (stopping) return;
      const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
      console.error(`\n! replica ${replica.nodeId} (pid ${replica.pid}) ${how}; its last output:\n${lastLines(replica.logs(), 20)}`);
    });
  }
  printCluster(cluster, workers, webRoot);

  let stoppingSince = 0;
  const shutdown = (signal: string): void => {
    if (stopping) {
      // A Ctrl-C reaches us twice (from the terminal and relayed by tsx): only
      // a later one means "stop waiting". The exit hook SIGKILLs what is left.
      if (Date.now() - stoppingSince < 1000) return;
      console.log('Forcing exit.');
      process.exit(1);
    }
    stopping = true;
    stoppingSince = Date.now();
    console.log(`\n${signal}: stopping nginx, replicas and redis… (Ctrl-C again to force)`);
    cluster.stop().then(
      () => {
        console.log('Stopped.');
        process.exit(0);
      },
      (error: unknown) => {
        console.error('Stopped, with errors:', error);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
