/**
 * A Redis Cluster on loopback: masters and replicas as redis-server child
 * processes, each in a fresh directory, joined with `redis-cli --cluster
 * create`. For `npm run cluster -- --redis cluster` and for tests that kill
 * nodes and watch the cluster fail over.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, isPortFree } from './ports.js';
import { requireExecutable } from './process.js';
import { redisInfo, startRedisProcess, type RedisProcess } from './redis-process.js';
import { redisCommand } from './resp.js';
import type { ClusterRedisTopology } from './topology.js';
import { waitUntilNoProblem } from './wait.js';

export const CLUSTER_SLOTS = 16384;
/** A node's cluster bus listens on its port + 10000. */
export const CLUSTER_BUS_OFFSET = 10000;

export type ClusterRole = 'master' | 'replica';

export interface RedisClusterOptions {
  /** Default 3 (redis-cli refuses fewer). */
  masters?: number;
  /** Default 1. */
  replicasPerMaster?: number;
  /** requirepass and masterauth on every node (REDIS_PASSWORD for the replicas). Default: none. */
  password?: string;
  /** cluster-node-timeout. A killed master is replaced after about twice this. Default 2000. */
  nodeTimeoutMs?: number;
  /** Default: a new temp dir (roomcast-redis-cluster-XXXX), removed by stop(). A given dir is kept; its <port>/ subdirs are recreated. */
  dir?: string;
  /** How long the start waits for a healthy cluster. Default 30 s. */
  readyTimeoutMs?: number;
}

export interface RedisClusterNode {
  readonly port: number;
  /** The current process's pid: a new one after restart(). */
  readonly pid: number;
  readonly alive: boolean;
  /** The role it had when the handle last looked (start, restart, waitForFailover, waitHealthy, refresh). */
  readonly role: ClusterRole;
  /** Its own directory: nodes.conf and the append-only file. */
  readonly dir: string;
  /** Signals the node (default SIGKILL: a crash, no goodbye to the cluster); resolves when it exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /**
   * Starts it again on its port and directory (stopping it first when alive)
   * and resolves once it rejoined: its cluster_state is ok, no live node
   * flags it as failing, and as a replica its replication link is up. A
   * killed master that was failed over comes back as a replica.
   */
  restart(): Promise<void>;
  /** The last 64 KiB of its output. */
  output(): string;
}

export interface RedisClusterHandle extends ClusterRedisTopology {
  readonly nodes: readonly RedisClusterNode[];
  readonly dir: string;
  readonly nodeTimeoutMs: number;
  /** The node by port; throws for a port that is not one of ours. */
  node(port: number): RedisClusterNode;
  /** The port of the master serving a slot, or the slot of a key (CLUSTER KEYSLOT), as a live node sees it. */
  masterFor(slotOrKey: number | string): Promise<number>;
  /**
   * After `oldMasterPort` was killed: resolves with the port of the node that
   * now serves its slots, once every live node agrees and says cluster_state:ok.
   */
  waitForFailover(oldMasterPort: number, timeoutMs?: number): Promise<number>;
  /** Every node alive and known to all, cluster_state:ok everywhere, every slot served, each master with its replicas in sync. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Restarts the dead nodes, then waitHealthy(): leaves the cluster as a fresh one would be (roles may have swapped). */
  heal(timeoutMs?: number): Promise<void>;
  /** The cluster as a live node sees it (CLUSTER NODES); updates the nodes' roles. */
  refresh(): Promise<ClusterNodeView[]>;
  /** FLUSHALL on every master; resolves when every node is empty. */
  flushAll(): Promise<void>;
  /** Stops every node (SIGTERM); removes a dir it made. Safe to call more than once. */
  stop(): Promise<void>;
}

/** One line of CLUSTER NODES. */
export interface ClusterNodeView {
  id: string;
  port: number;
  flags: string[];
  /** The master's id, for a replica. */
  masterId: string | undefined;
  linkState: string;
  /** Inclusive slot ranges it serves. */
  slots: Array<[number, number]>;
}

export function parseClusterNodes(text: string): ClusterNodeView[] {
  return text
    .trim()
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', master = '-', , , , linkState = '', ...slots] = line.trim().split(' ');
      // 127.0.0.1:7000@17000[,hostname]
      const port = Number(address.split('@')[0]?.split(':').pop());
      return {
        id,
        port,
        flags: flags.split(','),
        masterId: master === '-' ? undefined : master,
        linkState,
        slots: slots
          .filter((slot) => !slot.startsWith('[')) // [slot->-id] / [slot-<-id]: a migration in progress
          .map((slot): [number, number] => {
            const [from, to = from] = slot.split('-').map(Number) as [number, number?];
            return [from, to];
          }),
      };
    });
}

const FAILING = ['fail', 'fail?', 'handshake', 'noaddr'];
const isFailing = (view: ClusterNodeView): boolean => view.flags.some((flag) => FAILING.includes(flag));
const isMaster = (view: ClusterNodeView): boolean => view.flags.includes('master');
const owns = (view: ClusterNodeView, slot: number): boolean => view.slots.some(([from, to]) => slot >= from && slot <= to);

/**
 * A free loopback port below 55535 whose bus port (+10000) is free too, and
 * neither of them among `taken` (which it extends).
 */
export async function freeClusterPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = await freePort();
    const bus = port + CLUSTER_BUS_OFFSET;
    if (bus > 65535 || taken.has(port) || taken.has(bus)) continue;
    if (!(await isPortFree(bus))) continue;
    taken.add(port);
    taken.add(bus);
    return port;
  }
  throw new Error('found no free port below 55535 with its cluster bus port (+10000) free');
}

function runRedisCli(args: string[], password: string | undefined, timeoutMs: number): Promise<string> {
  const binary = requireExecutable('redis-cli', 'redis-tools');
  const env = { ...process.env };
  // The password reaches redis-cli through its environment, never its command line.
  if (password === undefined) delete env.REDISCLI_AUTH;
  else env.REDISCLI_AUTH = password;
  return new Promise((resolve, reject) => {
    execFile(binary, args, { env, timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) reject(new Error(`redis-cli ${args.slice(0, 2).join(' ')} failed (${error.message.split('\n')[0]}):\n${output}`));
      else resolve(output);
    });
  });
}

export async function startRedisCluster(opts: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = opts.masters ?? 3;
  const replicasPerMaster = opts.replicasPerMaster ?? 1;
  const nodeTimeoutMs = opts.nodeTimeoutMs ?? 2000;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  if (!Number.isInteger(masters) || masters < 3) throw new Error(`a Redis Cluster needs at least 3 masters, got ${masters}`);
  if (!Number.isInteger(replicasPerMaster) || replicasPerMaster < 0) throw new Error(`replicasPerMaster must be ≥ 0, got ${replicasPerMaster}`);
  requireExecutable('redis-server', 'redis-server');
  requireExecutable('redis-cli', 'redis-tools');
  const { password } = opts;
  const auth = { password };
  const total = masters * (1 + replicasPerMaster);

  const ownDir = opts.dir === undefined;
  const dir = path.resolve(opts.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'roomcast-redis-cluster-'))));
  await mkdir(dir, { recursive: true });

  const taken = new Set<number>();
  const roles = new Map<number, ClusterRole>();
  /** Slot ranges by master port, as last seen healthy: what waitForFailover waits to see served elsewhere. */
  let slotsByPort = new Map<number, Array<[number, number]>>();
  const processes: RedisProcess[] = [];

  const nodeArgs = (port: number, nodeDir: string): string[] => [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', nodeDir,
    '--daemonize', 'no',
    '--cluster-enabled', 'yes',
    '--cluster-config-file', 'nodes.conf',
    '--cluster-node-timeout', String(nodeTimeoutMs),
    // 0: a replica always stands for election, however long its master has
    // been gone (the default refuses after node-timeout × 10: a test that
    // kills a master late, or a slow machine, would never see a failover).
    '--cluster-replica-validity-factor', '0',
    // A master otherwise waits 5 s for more replicas before a full sync:
    // that is most of the start, and of a restarted master's rejoin.
    '--repl-diskless-sync-delay', '0',
    '--appendonly', 'yes',
    '--appendfsync', 'everysec',
    '--save', '',
    ...(password === undefined ? [] : ['--requirepass', password, '--masterauth', password]),
  ];

  /** Starts one node on a fresh port and dir; a port taken in the meantime is retried with another. */
  const startNode = async (): Promise<RedisProcess> => {
    let lastError: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freeClusterPort(taken);
      const nodeDir = path.join(dir, String(port));
      // A leftover nodes.conf makes `--cluster create` refuse the node.
      await rm(nodeDir, { recursive: true, force: true });
      await mkdir(nodeDir, { recursive: true });
      try {
        return await startRedisProcess({ port, args: nodeArgs(port, nodeDir), what: `cluster node 127.0.0.1:${port}`, password });
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  };

  const liveProcesses = (): RedisProcess[] => processes.filter((p) => p.alive);

  const view = async (port: number): Promise<ClusterNodeView[]> =>
    parseClusterNodes(String(await redisCommand(port, ['CLUSTER', 'NODES'], 2000, auth)));

  const clusterInfo = async (port: number): Promise<Map<string, string>> => {
    const text = String(await redisCommand(port, ['CLUSTER', 'INFO'], 2000, auth));
    return new Map(text.split('\r\n').filter(Boolean).map((line) => line.split(':') as [string, string]));
  };

  const remember = (views: ClusterNodeView[]): void => {
    for (const v of views) roles.set(v.port, isMaster(v) ? 'master' : 'replica');
  };

  /** What is wrong with one node's membership, or undefined when it is fully back. */
  const nodeProblem = async (port: number): Promise<string | undefined> => {
    const info = await clusterInfo(port);
    if (info.get('cluster_state') !== 'ok') return `${port}: cluster_state:${info.get('cluster_state')}`;
    for (const other of liveProcesses()) {
      const entry = (await view(other.port)).find((v) => v.port === port);
      if (!entry) return `${other.port} does not know ${port}`;
      if (isFailing(entry)) return `${other.port} flags ${port} ${entry.flags.join(',')}`;
      if (other.port !== port && entry.linkState !== 'connected') return `${other.port}: link to ${port} ${entry.linkState}`;
    }
    const self = (await view(port)).find((v) => v.flags.includes('myself'));
    if (self && !isMaster(self)) {
      const replication = await redisInfo(port, 'replication', password);
      if (replication.get('master_link_status') !== 'up') return `${port}: replication link ${replication.get('master_link_status')}`;
      if (replication.get('master_sync_in_progress') !== '0') return `${port}: initial sync in progress`;
    }
    if (self) roles.set(port, isMaster(self) ? 'master' : 'replica');
    return undefined;
  };

  /** What keeps the cluster from being as healthy as a fresh one, or undefined. */
  const clusterProblem = async (): Promise<string | undefined> => {
    const dead = processes.filter((p) => !p.alive);
    if (dead.length > 0) return `node(s) ${dead.map((p) => p.port).join(', ')} not running`;
    let last: ClusterNodeView[] = [];
    for (const proc of processes) {
      const info = await clusterInfo(proc.port);
      if (info.get('cluster_state') !== 'ok') return `${proc.port}: cluster_state:${info.get('cluster_state')}`;
      if (Number(info.get('cluster_slots_ok')) !== CLUSTER_SLOTS) return `${proc.port}: cluster_slots_ok:${info.get('cluster_slots_ok')}`;
      const views = await view(proc.port);
      if (views.length !== total) return `${proc.port} knows ${views.length} of ${total} nodes`;
      for (const v of views) {
        if (isFailing(v)) return `${proc.port} flags ${v.port} ${v.flags.join(',')}`;
        if (!v.flags.includes('myself') && v.linkState !== 'connected') return `${proc.port}: link to ${v.port} ${v.linkState}`;
      }
      const owners = views.filter((v) => isMaster(v) && v.slots.length > 0);
      if (owners.length !== masters) return `${proc.port} sees ${owners.length} masters with slots, not ${masters}`;
      for (const owner of owners) {
        const replicas = views.filter((v) => v.masterId === owner.id).length;
        if (replicas !== replicasPerMaster) return `${proc.port}: master ${owner.port} has ${replicas} replicas, not ${replicasPerMaster}`;
      }
      const self = views.find((v) => v.flags.includes('myself'));
      if (self && !isMaster(self)) {
        const replication = await redisInfo(proc.port, 'replication', password);
        if (replication.get('master_link_status') !== 'up') return `${proc.port}: replication link ${replication.get('master_link_status')}`;
        if (replication.get('master_sync_in_progress') !== '0') return `${proc.port}: initial sync in progress`;
      }
      last = views;
    }
    remember(last);
    slotsByPort = new Map(last.filter((v) => isMaster(v) && v.slots.length > 0).map((v) => [v.port, v.slots]));
    return undefined;
  };

  const waitHealthy = (timeoutMs = readyTimeoutMs): Promise<void> =>
    waitUntilNoProblem(clusterProblem, { what: `the Redis Cluster on ${processes.map((p) => p.port).join(',')} to be healthy`, timeoutMs });

  const makeNode = (proc: RedisProcess): RedisClusterNode => ({
    port: proc.port,
    get pid() {
      return proc.pid;
    },
    get alive() {
      return proc.alive;
    },
    get role() {
      return roles.get(proc.port) ?? 'master';
    },
    dir: path.join(dir, String(proc.port)),
    kill: (signal) => proc.kill(signal),
    async restart() {
      await proc.start();
      await waitUntilNoProblem(() => nodeProblem(proc.port), {
        what: `cluster node ${proc.port} to rejoin`,
        timeoutMs: Math.max(30_000, nodeTimeoutMs * 10),
      });
    },
    output: () => proc.output(),
  });

  let stopping: Promise<void> | undefined;
  const teardown = async (): Promise<void> => {
    await Promise.all(processes.map((p) => p.stop()));
    if (ownDir) await rm(dir, { recursive: true, force: true });
    else await Promise.all(processes.map((p) => rm(path.join(dir, String(p.port)), { recursive: true, force: true })));
  };

  try {
    const started = await Promise.allSettled(Array.from({ length: total }, () => startNode()));
    for (const result of started) if (result.status === 'fulfilled') processes.push(result.value);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    // The first `masters` addresses become masters, the rest their replicas.
    await runRedisCli(
      [
        '--cluster', 'create',
        ...processes.map((p) => `127.0.0.1:${p.port}`),
        '--cluster-replicas', String(replicasPerMaster),
        '--cluster-yes',
      ],
      password,
      60_000,
    );
    await waitHealthy();
  } catch (error) {
    await teardown().catch(() => undefined);
    throw error;
  }

  const nodes = processes.map(makeNode);
  const byPort = (port: number): RedisClusterNode => {
    const found = nodes.find((n) => n.port === port);
    if (!found) throw new Error(`${port} is not a node of this cluster (${nodes.map((n) => n.port).join(', ')})`);
    return found;
  };

  const refresh = async (): Promise<ClusterNodeView[]> => {
    for (const proc of liveProcesses()) {
      try {
        const views = await view(proc.port);
        remember(views);
        return views;
      } catch {
        // try the next live node
      }
    }
    throw new Error('no live node of the cluster answers CLUSTER NODES');
  };

  const handle: RedisClusterHandle = {
    mode: 'cluster',
    seeds: processes.map((p) => `127.0.0.1:${p.port}`).join(','),
    ...(password === undefined ? {} : { password }),
    nodes,
    dir,
    nodeTimeoutMs,
    node: byPort,

    async masterFor(slotOrKey) {
      if (typeof slotOrKey === 'number' && !(Number.isInteger(slotOrKey) && slotOrKey >= 0 && slotOrKey < CLUSTER_SLOTS)) {
        throw new Error(`a slot is an integer from 0 to ${CLUSTER_SLOTS - 1}, got ${slotOrKey}`);
      }
      const errors: string[] = [];
      for (const proc of liveProcesses()) {
        try {
          const slot = typeof slotOrKey === 'number' ? slotOrKey : Number(await redisCommand(proc.port, ['CLUSTER', 'KEYSLOT', slotOrKey], 2000, auth));
          const owner = (await view(proc.port)).find((v) => isMaster(v) && !isFailing(v) && owns(v, slot));
          if (owner) return owner.port;
          errors.push(`${proc.port}: no live master serves slot ${slot}`);
        } catch (error) {
          errors.push(`${proc.port}: ${(error as Error).message}`);
        }
      }
      throw new Error(`no master found for ${JSON.stringify(slotOrKey)}: ${errors.join('; ')}`);
    },

    async waitForFailover(oldMasterPort, timeoutMs = Math.max(20_000, nodeTimeoutMs * 10)) {
      byPort(oldMasterPort);
      const ranges = slotsByPort.get(oldMasterPort);
      if (!ranges) throw new Error(`${oldMasterPort} served no slots when the cluster was last seen healthy: not a master`);
      let newMaster = 0;
      await waitUntilNoProblem(
        async () => {
          const owners = new Set<number>();
          const judges = liveProcesses().filter((p) => p.port !== oldMasterPort);
          if (judges.length === 0) return 'no live node left';
          for (const proc of judges) {
            const info = await clusterInfo(proc.port);
            if (info.get('cluster_state') !== 'ok') return `${proc.port}: cluster_state:${info.get('cluster_state')}`;
            const views = await view(proc.port);
            for (const [from] of ranges) {
              const owner = views.find((v) => isMaster(v) && owns(v, from));
              if (!owner) return `${proc.port}: nobody serves slot ${from}`;
              if (owner.port === oldMasterPort) return `${proc.port}: slot ${from} still on ${oldMasterPort}`;
              if (isFailing(owner)) return `${proc.port}: slot ${from} on ${owner.port}, flagged ${owner.flags.join(',')}`;
              owners.add(owner.port);
            }
            remember(views);
          }
          if (owners.size !== 1) return `the nodes disagree on the new master: ${[...owners].join(', ')}`;
          newMaster = [...owners][0] ?? 0;
          return undefined;
        },
        { what: `the slots of ${oldMasterPort} to be served by another master`, timeoutMs },
      );
      return newMaster;
    },

    waitHealthy,

    async heal(timeoutMs) {
      for (const node of nodes) if (!node.alive) await processes.find((p) => p.port === node.port)?.start();
      await waitHealthy(timeoutMs);
    },

    refresh,

    async flushAll() {
      const views = await refresh();
      for (const master of views.filter((v) => isMaster(v) && !isFailing(v))) {
        await redisCommand(master.port, ['FLUSHALL'], 5000, auth);
      }
      await waitUntilNoProblem(
        async () => {
          for (const proc of liveProcesses()) {
            const size = Number(await redisCommand(proc.port, ['DBSIZE'], 2000, auth));
            if (size !== 0) return `${proc.port} still holds ${size} keys`;
          }
          return undefined;
        },
        { what: 'every cluster node to be empty', timeoutMs: 10_000 },
      );
    },

    stop: () => (stopping ??= teardown()),
  };
  return handle;
}
