/**
 * Redis with Sentinel on loopback: a master, its replica(s) and three
 * Sentinels, each a redis-server child process with its own config file in
 * its own directory (Sentinel rewrites its file with what it learns, and it
 * rewrites the data nodes' files when it changes their role, so a restarted
 * node keeps its current role). For `npm run cluster -- --redis sentinel` and
 * for tests that kill the master.
 *
 * With a password, the data nodes have `requirepass` and `masterauth`, and
 * the Sentinels `sentinel auth-pass`; the Sentinels themselves accept clients
 * without a password (loopback only), so a client needs the password for the
 * data nodes only (REDIS_PASSWORD), not a separate Sentinel password.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './ports.js';
import { requireExecutable } from './process.js';
import { redisInfo, startRedisProcess, type RedisProcess } from './redis-process.js';
import { redisCommand, type RespValue } from './resp.js';
import type { SentinelRedisTopology } from './topology.js';
import { waitUntilNoProblem } from './wait.js';

export interface RedisSentinelOptions {
  /** requirepass + masterauth on the data nodes, sentinel auth-pass on the Sentinels. Default: none. */
  password?: string;
  /** sentinel down-after-milliseconds: how long the master may be silent before it is judged down. Default 1000. */
  downAfterMs?: number;
  /** sentinel failover-timeout. Default 3000. */
  failoverTimeoutMs?: number;
  /** Replicas of the master. Default 1. */
  replicas?: number;
  /** Sentinels; the quorum is a majority of them. Default 3. */
  sentinels?: number;
  /** The monitored master's name. Default 'mymaster'. */
  name?: string;
  /** Default: a new temp dir (roomcast-redis-sentinel-XXXX), removed by stop(). A given dir is kept. */
  dir?: string;
  /** How long the start waits for the set to be ready. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface SentinelDataNode {
  readonly port: number;
  readonly pid: number;
  readonly alive: boolean;
  /** Its role when the handle last looked (start, waitForFailover, waitHealthy). */
  readonly role: 'master' | 'replica';
  /** Holds redis.conf (rewritten by Sentinel on a role change) and the append-only file. */
  readonly dir: string;
  /** Signals it (default SIGKILL: a crash); resolves when it exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again (stopping it first when alive); resolves when the whole set is healthy again (an old master comes back as a replica). */
  restart(): Promise<void>;
  output(): string;
}

export interface SentinelProcessNode {
  readonly port: number;
  readonly pid: number;
  readonly alive: boolean;
  readonly dir: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again from its (rewritten) config; resolves when the whole set is healthy again. */
  restart(): Promise<void>;
  output(): string;
}

export interface RedisSentinelHandle extends SentinelRedisTopology {
  /** The master first, then the replicas, in start order (roles change on failover: see role). */
  readonly dataNodes: readonly SentinelDataNode[];
  readonly sentinelNodes: readonly SentinelProcessNode[];
  readonly dir: string;
  /** The current master's port, as a live Sentinel reports it (SENTINEL get-master-addr-by-name). */
  master(): Promise<number>;
  /** kill -9 of the current master; resolves with its port once it is dead. */
  killMaster(): Promise<number>;
  /** Resolves with the new master's port once every live Sentinel reports a master other than `oldPort` and that node says role:master. */
  waitForFailover(oldPort: number, timeoutMs?: number): Promise<number>;
  /** Every process alive, one master, every replica in sync with it, every Sentinel agreeing and knowing all replicas and Sentinels. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Restarts what is dead, then waitHealthy(). */
  heal(timeoutMs?: number): Promise<void>;
  /** FLUSHALL on the master; resolves when every data node is empty. */
  flushAll(): Promise<void>;
  /** Stops every process (Sentinels first); removes a dir it made. Safe to call more than once. */
  stop(): Promise<void>;
}

/** A value for a redis.conf line: quoted, so any password works. */
function confValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"`;
}

/** A flat RESP array of field/value pairs (SENTINEL MASTER, SENTINEL REPLICAS) as a map. */
function pairs(value: RespValue): Map<string, string> {
  const list = Array.isArray(value) ? value : [];
  const out = new Map<string, string>();
  for (let i = 0; i + 1 < list.length; i += 2) out.set(String(list[i]), String(list[i + 1]));
  return out;
}

export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<RedisSentinelHandle> {
  const { password } = opts;
  const name = opts.name ?? 'mymaster';
  const downAfterMs = opts.downAfterMs ?? 1000;
  const failoverTimeoutMs = opts.failoverTimeoutMs ?? 3000;
  const replicaCount = opts.replicas ?? 1;
  const sentinelCount = opts.sentinels ?? 3;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  if (!Number.isInteger(replicaCount) || replicaCount < 1) throw new Error(`replicas must be ≥ 1, got ${replicaCount}`);
  if (!Number.isInteger(sentinelCount) || sentinelCount < 1) throw new Error(`sentinels must be ≥ 1, got ${sentinelCount}`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`the master name must be letters, digits, '.', '_' or '-', got ${JSON.stringify(name)}`);
  requireExecutable('redis-server', 'redis-server');
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const auth = { password };

  const ownDir = opts.dir === undefined;
  const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-redis-sentinel-'))));
  await mkdir(dir, { recursive: true });

  const dataProcs: RedisProcess[] = [];
  const sentinelProcs: RedisProcess[] = [];
  const roles = new Map<number, 'master' | 'replica'>();

  const writeConf = async (subdir: string, lines: string[]): Promise<string> => {
    const nodeDir = path.join(dir, subdir);
    await rm(nodeDir, { recursive: true, force: true });
    await mkdir(nodeDir, { recursive: true });
    const file = path.join(nodeDir, subdir.startsWith('sentinel') ? 'sentinel.conf' : 'redis.conf');
    await writeFile(file, `${lines.join('\n')}\n`, { mode: 0o600 });
    return file;
  };

  const startDataNode = async (masterPort: number | undefined): Promise<RedisProcess> => {
    const port = await freePort();
    const nodeDir = path.join(dir, `redis-${port}`);
    const file = await writeConf(`redis-${port}`, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${confValue(nodeDir)}`,
      'daemonize no',
      'appendonly yes',
      'appendfsync everysec',
      'save ""',
      // A master otherwise waits 5 s for more replicas before a full sync.
      'repl-diskless-sync-delay 0',
      ...(password === undefined ? [] : [`requirepass ${confValue(password)}`, `masterauth ${confValue(password)}`]),
      ...(masterPort === undefined ? [] : [`replicaof 127.0.0.1 ${masterPort}`]),
    ]);
    const proc = await startRedisProcess({ port, args: [file], what: `redis data node 127.0.0.1:${port}`, password });
    roles.set(port, masterPort === undefined ? 'master' : 'replica');
    return proc;
  };

  const startSentinel = async (masterPort: number): Promise<RedisProcess> => {
    const port = await freePort();
    const nodeDir = path.join(dir, `sentinel-${port}`);
    const file = await writeConf(`sentinel-${port}`, [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${confValue(nodeDir)}`,
      'daemonize no',
      `sentinel monitor ${name} 127.0.0.1 ${masterPort} ${quorum}`,
      `sentinel down-after-milliseconds ${name} ${downAfterMs}`,
      `sentinel failover-timeout ${name} ${failoverTimeoutMs}`,
      ...(password === undefined ? [] : [`sentinel auth-pass ${name} ${confValue(password)}`]),
    ]);
    return startRedisProcess({ port, args: [file, '--sentinel'], what: `sentinel 127.0.0.1:${port}` });
  };

  const sentinelAsk = (port: number, args: string[]): Promise<RespValue> => redisCommand(port, ['SENTINEL', ...args], 2000);

  const reportedMaster = async (sentinelPort: number): Promise<number> => {
    const reply = await sentinelAsk(sentinelPort, ['get-master-addr-by-name', name]);
    if (!Array.isArray(reply) || reply.length !== 2) throw new Error(`sentinel ${sentinelPort} knows no master ${name}`);
    return Number(reply[1]);
  };

  const role = async (port: number): Promise<Map<string, string>> => {
    const info = await redisInfo(port, 'replication', password);
    roles.set(port, info.get('role') === 'master' ? 'master' : 'replica');
    return info;
  };

  /** What keeps the set from being as healthy as a fresh one, or undefined. */
  const setProblem = async (): Promise<string | undefined> => {
    const dead = [...dataProcs, ...sentinelProcs].filter((p) => !p.alive);
    if (dead.length > 0) return `process(es) on ${dead.map((p) => p.port).join(', ')} not running`;
    const masters = new Set<number>();
    for (const sentinel of sentinelProcs) masters.add(await reportedMaster(sentinel.port));
    if (masters.size !== 1) return `the Sentinels disagree on the master: ${[...masters].join(', ')}`;
    const masterPort = [...masters][0] ?? 0;
    const masterInfo = await role(masterPort);
    if (masterInfo.get('role') !== 'master') return `${masterPort} is reported master but says role:${masterInfo.get('role')}`;
    const replicaPorts = dataProcs.map((p) => p.port).filter((port) => port !== masterPort);
    for (const port of replicaPorts) {
      const info = await role(port);
      if (info.get('role') !== 'slave') return `${port} says role:${info.get('role')}, not a replica of ${masterPort}`;
      if (Number(info.get('master_port')) !== masterPort) return `${port} replicates ${info.get('master_port')}, not ${masterPort}`;
      if (info.get('master_link_status') !== 'up') return `${port}: replication link ${info.get('master_link_status')}`;
      if (info.get('master_sync_in_progress') !== '0') return `${port}: initial sync in progress`;
    }
    for (const sentinel of sentinelProcs) {
      const master = pairs(await sentinelAsk(sentinel.port, ['master', name]));
      if (master.get('flags') !== 'master') return `sentinel ${sentinel.port} flags the master ${master.get('flags')}`;
      if (Number(master.get('num-other-sentinels')) !== sentinelCount - 1) {
        return `sentinel ${sentinel.port} knows ${master.get('num-other-sentinels')} other Sentinels, not ${sentinelCount - 1}`;
      }
      const known = await sentinelAsk(sentinel.port, ['replicas', name]);
      const replicas = (Array.isArray(known) ? known : []).map(pairs);
      for (const port of replicaPorts) {
        const entry = replicas.find((r) => Number(r.get('port')) === port);
        if (!entry) return `sentinel ${sentinel.port} does not know replica ${port}`;
        // Only the flags: a Sentinel refreshes a replica's other fields (its
        // master's port...) from INFO every 10 s, and fails over with fresh
        // ones anyway (it polls every second once the master is down).
        if (entry.get('flags') !== 'slave') return `sentinel ${sentinel.port} flags replica ${port} ${entry.get('flags')}`;
      }
    }
    return undefined;
  };

  const waitHealthy = (timeoutMs = readyTimeoutMs): Promise<void> =>
    waitUntilNoProblem(setProblem, { what: `the Sentinel set (${name}) to be healthy`, timeoutMs });

  let stopping: Promise<void> | undefined;
  const teardown = async (): Promise<void> => {
    // Sentinels first, or they fail the master over while it stops.
    await Promise.all(sentinelProcs.map((p) => p.stop()));
    await Promise.all(dataProcs.map((p) => p.stop()));
    if (ownDir) await rm(dir, { recursive: true, force: true });
  };

  try {
    const master = await startDataNode(undefined);
    dataProcs.push(master);
    const startedReplicas = await Promise.allSettled(Array.from({ length: replicaCount }, () => startDataNode(master.port)));
    const startedSentinels = await Promise.allSettled(Array.from({ length: sentinelCount }, () => startSentinel(master.port)));
    for (const r of startedReplicas) if (r.status === 'fulfilled') dataProcs.push(r.value);
    for (const r of startedSentinels) if (r.status === 'fulfilled') sentinelProcs.push(r.value);
    const failed = [...startedReplicas, ...startedSentinels].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    await waitHealthy();
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }

  const currentMaster = async (): Promise<number> => {
    const errors: string[] = [];
    for (const sentinel of sentinelProcs.filter((p) => p.alive)) {
      try {
        return await reportedMaster(sentinel.port);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    throw new Error(`no live Sentinel reports the master ${name}: ${errors.join('; ')}`);
  };

  /**
   * Starts a dead process again. A data node that comes back as master while
   * the Sentinels report another one (an old master after a failover) is
   * made a replica of the current master at once: Sentinel would do the same
   * (+convert-to-slave), but only after its next INFO poll (every 10 s) and
   * failover-timeout on top.
   */
  const revive = async (proc: RedisProcess): Promise<void> => {
    await proc.start();
    if (!dataProcs.includes(proc)) return;
    const master = await currentMaster();
    if (master !== proc.port && (await role(proc.port)).get('role') === 'master') {
      await redisCommand(proc.port, ['REPLICAOF', '127.0.0.1', String(master)], 2000, auth);
      await redisCommand(proc.port, ['CONFIG', 'REWRITE'], 2000, auth);
    }
  };

  const restartAndWait = async (proc: RedisProcess): Promise<void> => {
    await revive(proc);
    await waitHealthy(Math.max(30_000, failoverTimeoutMs * 4));
  };

  const dataNodes: SentinelDataNode[] = dataProcs.map((proc) => ({
    port: proc.port,
    get pid() {
      return proc.pid;
    },
    get alive() {
      return proc.alive;
    },
    get role() {
      return roles.get(proc.port) ?? 'replica';
    },
    dir: path.join(dir, `redis-${proc.port}`),
    kill: (signal) => proc.kill(signal),
    restart: () => restartAndWait(proc),
    output: () => proc.output(),
  }));
  const sentinelNodes: SentinelProcessNode[] = sentinelProcs.map((proc) => ({
    port: proc.port,
    get pid() {
      return proc.pid;
    },
    get alive() {
      return proc.alive;
    },
    dir: path.join(dir, `sentinel-${proc.port}`),
    kill: (signal) => proc.kill(signal),
    restart: () => restartAndWait(proc),
    output: () => proc.output(),
  }));

  return {
    mode: 'sentinel',
    sentinels: sentinelProcs.map((p) => `127.0.0.1:${p.port}`).join(','),
    name,
    ...(password === undefined ? {} : { password }),
    dataNodes,
    sentinelNodes,
    dir,
    master: currentMaster,

    async killMaster() {
      const port = await currentMaster();
      const proc = dataProcs.find((p) => p.port === port);
      if (!proc) throw new Error(`the Sentinels report master ${port}, which is not one of our data nodes`);
      await proc.kill('SIGKILL');
      return port;
    },

    async waitForFailover(oldPort, timeoutMs = Math.max(20_000, (downAfterMs + failoverTimeoutMs) * 4)) {
      let newMaster = 0;
      await waitUntilNoProblem(
        async () => {
          const reported = new Set<number>();
          for (const sentinel of sentinelProcs.filter((p) => p.alive)) reported.add(await reportedMaster(sentinel.port));
          if (reported.size !== 1) return `the Sentinels disagree: ${[...reported].join(', ')}`;
          const port = [...reported][0] ?? 0;
          if (port === oldPort) return `the Sentinels still report ${oldPort}`;
          const info = await role(port);
          if (info.get('role') !== 'master') return `${port} is reported master but says role:${info.get('role')}`;
          newMaster = port;
          return undefined;
        },
        { what: `the Sentinels to fail ${name} over from ${oldPort}`, timeoutMs },
      );
      return newMaster;
    },

    waitHealthy,

    async heal(timeoutMs) {
      // Sentinels first: revive() asks them who the master is.
      for (const proc of [...sentinelProcs, ...dataProcs]) if (!proc.alive) await revive(proc);
      await waitHealthy(timeoutMs);
    },

    async flushAll() {
      await redisCommand(await currentMaster(), ['FLUSHALL'], 5000, auth);
      await waitUntilNoProblem(
        async () => {
          for (const proc of dataProcs.filter((p) => p.alive)) {
            const size = Number(await redisCommand(proc.port, ['DBSIZE'], 2000, auth));
            if (size !== 0) return `${proc.port} still holds ${size} keys`;
          }
          return undefined;
        },
        { what: 'every data node to be empty', timeoutMs: 10_000 },
      );
    },

    stop: () => (stopping ??= teardown()),
  };
}
