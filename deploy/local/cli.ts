/**
 * `npm run cluster`: redis + 3 replicas + nginx on this machine, until Ctrl-C.
 *
 *   npm run cluster                       # http://127.0.0.1:8080 (or a free port)
 *   PORT=9000 npm run cluster             # nginx on 9000
 *   npm run cluster -- --logs             # stream the replicas' output
 *   npm run cluster -- --replicas 5 --workers 1
 *
 * State lives in <repo>/.cluster (redis data survives between runs);
 * ROOMCAST_CLUSTER_DIR picks another directory.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { builtWebRoot, startCluster, type Cluster } from './cluster.js';
import { isPortFree } from './ports.js';
import { repoRoot } from './paths.js';

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

function printCluster(cluster: Cluster, workers: number, webRoot: string | undefined): void {
  // npm runs us in deploy/: show paths relative to where `npm run` was typed.
  const from = process.env.INIT_CWD ?? process.cwd();
  const rel = (p: string): string => path.relative(from, p) || '.';
  const lines = [
    '',
    `Roomcast is up: ${cluster.url}`,
    '',
    `  web    ${webRoot ? `${rel(webRoot)} served at /` : 'not built (npm run build -w web): / answers 404'}`,
    `  nginx  ${cluster.url}  pid ${cluster.nginx.pid}  (${workers} workers; config, error.log and access.log in ${rel(path.join(cluster.dir, 'nginx'))})`,
    `  redis  ${cluster.redis.url}  pid ${cluster.redis.pid}  (append-only file in ${rel(cluster.redis.dataDir)})`,
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
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run cluster [-- --logs] [--replicas N] [--workers N]   (PORT=… picks the nginx port)');
    return;
  }
  const replicas = positiveInt(values.replicas, '--replicas');
  const workers = positiveInt(values.workers, '--workers');

  const dir = path.resolve(process.env.ROOMCAST_CLUSTER_DIR ?? path.join(repoRoot, '.cluster'));
  const unlock = lockDir(dir);
  process.on('exit', unlock);

  console.log('Starting redis, %d replicas and nginx…', replicas);
  const webRoot = builtWebRoot();
  const cluster = await startCluster({ webRoot, replicas, workers, port: await choosePort(), dir });

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
