/**
 * roomcast load-test CLI:  npm run loadtest -- <command> [options]
 * (see `npm run loadtest -- help`).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { compareRows, formatTable, medianResult, summaryLines } from './compare.js';
import { defaultConnections, runConnections, type ConnectionsConfig } from './connections.js';
import { defaultLoad, round, roomName, runLoad, type LoadConfig } from './load.js';
import { Progress } from './progress.js';
import { writeReport } from './report.js';
import { resultsDir, stamp, writeJson, type Result } from './result.js';
import { machineBusySec } from './procstat.js';
import { medianFigures, smallRoomsFigures, smallRoomsLines, smallRoomsRows, type SmallRoomsFigures } from './small-rooms.js';
import { openTarget, stackNames, type RedisLayout, type Stack, type Target, type TargetOptions } from './target.js';

const HELP = `Roomcast load tests.   npm run loadtest -- <command> [options]

Commands
  fanout        R rooms × C clients, M msgs/s in total from random senders
  bench         the issue-2 benchmark: local cluster, 10 × 50 clients, 500 msgs/s, 20 s
  connections   open K sockets at a rate, join rooms, hold; connect times, memory per connection
  soak          long steady fan-out with reconnect churn (resume with since) and typing
  chaos         fan-out while a replica is killed -9 (local cluster only); zero-loss accounting
  compare-peer  the same fan-out against Roomcast and a Socket.IO 4 + redis-adapter peer,
                each in 3 replicas + nginx + redis launched here, alternating rounds
  small-rooms   many small rooms (DMs, small groups): 2000 rooms × 3 members, 1000 msgs/s, 6 replicas;
                CPU per published message of each replica and each Redis shard, on one Redis or a
                Redis Cluster; --rounds N alternates the variants (--only stacks × --redis layouts)
  report <json> regenerate the HTML report of a result
  compare <a.json> <b.json> ...  side-by-side table with ratios to the first

Target (one of)
  --url http://host:port   an existing deployment (POST /api/login, WebSocket /ws)
  --cluster                launch the local cluster (redis + 3 replicas + nginx); default for
                           bench, chaos and compare-peer, and when no --url is given
  --pids LIST              pids to measure with --url: "1,2" or "replicas:1,replicas:2,nginx:3,redis:4"
  --secret S               the target's CHAT_JWT_SECRET (or env CHAT_JWT_SECRET): lets the tool mint tokens
  --login                  log in over HTTP (POST /api/login) even when tokens can be minted; replicas
                           limit logins per address (RATE_LOGIN_*), so many clients need those raised
  --replicas N (3)  --workers N (nginx workers, 1)  --env KEY=VALUE (replica env, repeatable)
  --entry FILE             replica entry of a launched Roomcast cluster (server/dist/main.js), to A/B two builds
  --stack roomcast|socketio|floor (roomcast; floor: the least a replica can do, a CPU yardstick)
  --redis single|cluster   Redis of a launched Roomcast cluster: one redis-server (default) or a Redis
                           Cluster of 3 masters + 3 replicas (Roomcast only: the peers use one redis-server)

Fan-out options (fanout, bench, soak, chaos, compare-peer)
  --rooms R (10)  --clients C per room (50)  --rate M msgs/s total (500)
  --warmup S (5)  --duration S (20)  --drain S (10)  --size BYTES of text (0 = minimal)
  --connect-concurrency N (64)  --connect-rate N per s (0 = unlimited)
  --churn N reconnects/s (soak: 2)  --typing N/s (soak: 5)
  --kill-at S into the window (chaos: duration/3)  --kill NODE_ID (busiest)  --restart-after S (5; 0 never)

small-rooms:  --rooms R (2000)  --members M (3)  --rate (1000)  --replicas (6)  --warmup (10)  --duration (20)
              --redis single,cluster (a list: each layout is a variant)  --only roomcast,socketio  --rounds N (1)
              --entry A=path,B=path (Roomcast builds, each a variant: A/B two builds in alternating rounds)
connections:  --count K (1000)  --rate N/s (500)  --rooms R (10; 0 = idle sockets)  --hold S (10)
compare-peer: --rounds N (3)  --ladder 500,1000,2000 (sustainable-rate ladder)  --ladder-duration S (10)
              --conn-count K (also compare memory per idle connection)
              --only LIST (roomcast,socketio): the stacks to run, e.g. roomcast,floor for Roomcast's cost above the floor
Shared box:   --wait-quiet S (wait up to S seconds for other processes to go below 0.3 cores first)
Output:       --out DIR (loadtest-results/)  --label TEXT  --no-report  --markdown (compare)
`;

const options = {
  url: { type: 'string' },
  cluster: { type: 'boolean' },
  pids: { type: 'string' },
  secret: { type: 'string' },
  login: { type: 'boolean' },
  replicas: { type: 'string' },
  workers: { type: 'string' },
  env: { type: 'string', multiple: true },
  entry: { type: 'string' },
  stack: { type: 'string' },
  rooms: { type: 'string' },
  clients: { type: 'string' },
  rate: { type: 'string' },
  warmup: { type: 'string' },
  duration: { type: 'string' },
  drain: { type: 'string' },
  size: { type: 'string' },
  'connect-concurrency': { type: 'string' },
  'connect-rate': { type: 'string' },
  churn: { type: 'string' },
  typing: { type: 'string' },
  'kill-at': { type: 'string' },
  kill: { type: 'string' },
  'restart-after': { type: 'string' },
  count: { type: 'string' },
  hold: { type: 'string' },
  rounds: { type: 'string' },
  ladder: { type: 'string' },
  'ladder-duration': { type: 'string' },
  'conn-count': { type: 'string' },
  only: { type: 'string' },
  members: { type: 'string' },
  redis: { type: 'string' },
  out: { type: 'string' },
  label: { type: 'string' },
  'no-report': { type: 'boolean' },
  markdown: { type: 'boolean' },
  'wait-quiet': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parse>['values'];

function parse(argv: string[]) {
  return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
}

function num(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got ${JSON.stringify(v)}`);
  return n;
}

class UsageError extends Error {}

function targetOptions(v: Values, stack: Stack, forceCluster: boolean, defaults: { replicas?: number } = {}): TargetOptions {
  if (forceCluster && v.url) throw new UsageError('this command launches its own cluster: drop --url');
  const env: Record<string, string> = {};
  for (const kv of v.env ?? []) {
    const i = kv.indexOf('=');
    if (i < 1) throw new UsageError(`--env wants KEY=VALUE, got ${JSON.stringify(kv)}`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const redis = layoutsOf(v.redis ?? 'single', true)[0];
  if (redis === 'cluster' && stack !== 'roomcast') throw new UsageError(`the ${stackNames[stack]} runs on one redis-server only: --redis cluster is for Roomcast`);
  if (redis === 'cluster' && v.url && !v.cluster) throw new UsageError('--redis cluster launches the cluster itself: drop --url');
  return {
    stack,
    url: v.cluster ? undefined : v.url,
    pids: v.pids,
    secret: v.secret ?? process.env.CHAT_JWT_SECRET,
    replicas: num(v.replicas, defaults.replicas ?? 3, 'replicas'),
    workers: num(v.workers, 1, 'workers'),
    env,
    entry: v.entry === undefined ? undefined : path.resolve(process.env.INIT_CWD ?? process.cwd(), v.entry),
    redis,
  };
}

/**
 * `--entry` of small-rooms: one replica build (a path), or several to compare
 * in alternating rounds, each `label=path` ("base=a/main.js,fix=b/main.js").
 */
function entriesOf(spec: string | undefined): Array<{ label: string; path: string }> {
  if (spec === undefined) return [];
  const resolve = (p: string): string => path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
  if (!spec.includes('=')) return [{ label: '', path: resolve(spec) }];
  return spec.split(',').map((item) => {
    const i = item.indexOf('=');
    if (i < 1 || i === item.length - 1) throw new UsageError(`--entry wants PATH or LABEL=PATH,LABEL=PATH; got ${JSON.stringify(item)}`);
    return { label: item.slice(0, i).trim(), path: resolve(item.slice(i + 1).trim()) };
  });
}

/** "single,cluster" → the Redis layouts, each checked; `single` refuses a list. */
function layoutsOf(list: string, single = false): RedisLayout[] {
  const names = list.split(',').map((x) => x.trim());
  for (const n of names) if (n !== 'single' && n !== 'cluster') throw new UsageError(`--redis is single or cluster; got ${JSON.stringify(n)}`);
  if (single && names.length !== 1) throw new UsageError(`this command takes one --redis layout; got ${list}`);
  return names as RedisLayout[];
}

function loadConfig(v: Values, scenario: string, base: Partial<LoadConfig> = {}): LoadConfig {
  const d = { ...defaultLoad, ...base };
  const duration = num(v.duration, d.durationSec, 'duration');
  const cfg: LoadConfig = {
    ...d,
    scenario,
    label: v.label,
    rooms: num(v.rooms, d.rooms, 'rooms'),
    clientsPerRoom: num(v.clients, d.clientsPerRoom, 'clients'),
    rate: num(v.rate, d.rate, 'rate'),
    warmupSec: num(v.warmup, d.warmupSec, 'warmup'),
    durationSec: duration,
    drainSec: num(v.drain, d.drainSec, 'drain'),
    size: num(v.size, d.size, 'size'),
    connectConcurrency: num(v['connect-concurrency'], d.connectConcurrency, 'connect-concurrency'),
    connectRate: num(v['connect-rate'], d.connectRate, 'connect-rate'),
    churnPerSec: num(v.churn, d.churnPerSec, 'churn'),
    typingPerSec: num(v.typing, d.typingPerSec, 'typing'),
    mintTokens: !v.login,
  };
  if (scenario === 'chaos') {
    cfg.kill = { atSec: num(v['kill-at'], Math.round(duration / 3), 'kill-at'), replica: v.kill, restartAfterSec: num(v['restart-after'], 5, 'restart-after') };
  }
  if (cfg.rooms < 1 || cfg.clientsPerRoom < 1) throw new UsageError('--rooms and --clients must be at least 1');
  if (cfg.durationSec <= 0) throw new UsageError('--duration must be positive');
  return cfg;
}

/** Opens the target, stopping it on Ctrl-C too, and always at the end. */
async function withTarget<T>(opts: TargetOptions, fn: (t: Target) => Promise<T>): Promise<T> {
  if (!opts.url) console.log(`Launching the local ${stackNames[opts.stack]} cluster (${opts.replicas} replicas + nginx + ${opts.redis === 'cluster' ? 'a Redis Cluster of 3 masters + 3 replicas' : 'redis'})…`);
  const target = await openTarget(opts);
  const onSignal = (): void => {
    console.log('\nstopping…');
    void target.stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(target);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await target.stop();
  }
}

async function save(result: Result, v: Values, name: string): Promise<string> {
  const dir = resultsDir(v.out);
  const json = await writeJson(dir, name, result);
  const rel = (p: string): string => path.relative(process.env.INIT_CWD ?? process.cwd(), p);
  if (!v['no-report']) {
    const html = await writeReport(result, json.replace(/\.json$/, '.html'));
    console.log(`  result ${rel(json)}\n  report ${rel(html)}`);
  } else {
    console.log(`  result ${rel(json)}`);
  }
  return json;
}

function stackOf(v: Values): Stack {
  return stacksOf(v.stack ?? 'roomcast', true)[0]!;
}

/** An empty result list for every stack there is. */
function resultsPerStack(): Record<Stack, Result[]> {
  const results = {} as Record<Stack, Result[]>;
  for (const s of Object.keys(stackNames) as Stack[]) results[s] = [];
  return results;
}

/** "roomcast,floor" → the stacks, each checked; `single` refuses a list. */
function stacksOf(list: string, single = false): Stack[] {
  const names = list.split(',').map((x) => x.trim());
  for (const s of names) {
    if (!(s in stackNames)) throw new UsageError(`a stack is one of ${Object.keys(stackNames).join(', ')}; got ${JSON.stringify(s)}`);
  }
  if (single && names.length !== 1) throw new UsageError(`--stack takes one stack; got ${list}`);
  return names as Stack[];
}

async function loadScenario(v: Values, scenario: string, base: Partial<LoadConfig>, forceCluster: boolean): Promise<number> {
  const cfg = loadConfig(v, scenario, base);
  const stack = stackOf(v);
  const result = await withTarget(targetOptions(v, stack, forceCluster), (t) => {
    if (scenario === 'chaos' && !t.launched) throw new UsageError('chaos needs the tool to launch the cluster (no --url)');
    return runLoad(cfg, t);
  });
  console.log(summaryLines(result).join('\n'));
  await save(result, v, `${scenario}-${stack}-${stamp()}`);
  return result.pass ? 0 : 1;
}

async function connectionsScenario(v: Values): Promise<number> {
  const cfg: ConnectionsConfig = {
    ...defaultConnections,
    label: v.label,
    count: num(v.count, defaultConnections.count, 'count'),
    rate: num(v.rate, defaultConnections.rate, 'rate'),
    rooms: num(v.rooms, defaultConnections.rooms, 'rooms'),
    holdSec: num(v.hold, defaultConnections.holdSec, 'hold'),
    concurrency: num(v['connect-concurrency'], defaultConnections.concurrency, 'connect-concurrency'),
    mintTokens: !v.login,
  };
  const stack = stackOf(v);
  const result = await withTarget(targetOptions(v, stack, false), (t) => runConnections(cfg, t));
  console.log(summaryLines(result).join('\n'));
  await save(result, v, `connections-${stack}-${stamp()}`);
  return result.pass ? 0 : 1;
}

async function readResult(file: string): Promise<Result> {
  const r = JSON.parse(await readFile(file, 'utf8')) as Result;
  if (r.kind !== 'roomcast-loadtest') throw new UsageError(`${file} is not a load-test result`);
  return r;
}

async function comparePeer(v: Values): Promise<number> {
  const rounds = num(v.rounds, 3, 'rounds');
  const cfg = loadConfig(v, 'compare-peer');
  const ladder = (v.ladder ?? '').split(',').filter(Boolean).map((x) => num(x, 0, 'ladder'));
  const ladderDuration = num(v['ladder-duration'], 10, 'ladder-duration');
  const connCount = v['conn-count'] ? num(v['conn-count'], 0, 'conn-count') : 0;
  const stacks = stacksOf(v.only ?? 'roomcast,socketio');
  const ts = stamp();
  const runs = resultsPerStack();
  const ladderRuns: Array<{ stack: Stack; rate: number; attempt: number; p99: number; lost: number; offered: number; lag: number; other?: number; pass: boolean; cpuUs?: number }> = [];
  const conns: Partial<Record<Stack, Result>> = {};

  const order = (i: number): Stack[] => (i % 2 === 0 ? stacks : [...stacks].reverse());
  // Memory first, each round on a fresh cluster: a replica's RSS also holds
  // garbage that V8 returns at a time of its choosing, so one measurement can
  // be off by half; the median of the rounds is what gets compared.
  if (connCount) {
    const memoryRuns = resultsPerStack();
    for (let i = 0; i < rounds; i++) {
      for (const s of order(i)) {
        const target = await openTarget({ ...targetOptions(v, s, true), stack: s });
        try {
          const r = await runConnections({ ...defaultConnections, count: connCount, rooms: 0, label: `${s} ${connCount} idle connections, round ${i + 1}` }, target);
          console.log(summaryLines(r).join('\n'));
          await save(r, v, `compare-peer-${ts}-${s}-connections-r${i + 1}`);
          memoryRuns[s].push(r);
        } finally {
          await target.stop();
        }
      }
    }
    for (const s of stacks) if (memoryRuns[s].length) conns[s] = medianResult(memoryRuns[s]);
  }

  const targets = new Map<Stack, Target>();
  try {
    for (const s of stacks) {
      console.log(`Launching ${s} (3 replicas + nginx + redis)…`);
      targets.set(s, await openTarget({ ...targetOptions(v, s, true), stack: s }));
    }
    for (let i = 0; i < rounds; i++) {
      for (const s of order(i)) {
        const r = await runLoad({ ...cfg, label: `${s} round ${i + 1}` }, targets.get(s)!);
        console.log(summaryLines(r).join('\n'));
        await save(r, v, `compare-peer-${ts}-${s}-r${i + 1}`);
        runs[s].push(r);
      }
    }
    // A rung passes when one of two tries passes (tails are noisy on a shared 2-core box);
    // a stack stops climbing at its first rung that fails twice.
    const failed = new Set<Stack>();
    for (const [i, rate] of ladder.entries()) {
      for (const s of order(i).filter((x) => !failed.has(x))) {
        let ok = false;
        for (let attempt = 1; attempt <= 2 && !ok; attempt++) {
          const r = await runLoad({ ...cfg, rate, warmupSec: Math.min(cfg.warmupSec, 3), durationSec: ladderDuration, label: `${s} ladder ${rate}/s #${attempt}` }, targets.get(s)!);
          console.log(summaryLines(r).join('\n'));
          await save(r, v, `compare-peer-${ts}-${s}-ladder-${rate}-${attempt}`);
          ok = r.pass && r.latency.p99 < 100 && r.totals.offeredRate >= rate * 0.95 && r.generator.lagP99 < cfg.lagWarnMs;
          ladderRuns.push({ stack: s, rate, attempt, p99: r.latency.p99, lost: r.totals.lost, offered: r.totals.offeredRate, lag: r.generator.lagP99, other: r.machine?.otherCores, pass: ok, cpuUs: r.server?.cpuUsPerDelivery.total });
        }
        if (!ok) failed.add(s);
      }
    }
  } finally {
    for (const t of targets.values()) await t.stop();
  }

  const cols = stacks.filter((s) => runs[s].length).map((s) => ({ label: s, result: medianResult(runs[s]) }));
  const lines: string[] = [];
  if (cols.length) {
    lines.push(`\nFan-out, median of ${rounds} rounds each (${cfg.rooms} rooms × ${cfg.clientsPerRoom} clients, ${cfg.rate} msgs/s, ${cfg.durationSec} s):`);
    lines.push(formatTable(compareRows(cols), v.markdown));
  }
  const sustainable: Partial<Record<Stack, number>> = {};
  if (ladderRuns.length) {
    lines.push('\nRate ladder (sustainable: p99 < 100 ms, zero loss, rate offered, generator not lagging):');
    const rows = [['stack', 'rate', 'try', 'offered', 'p99 ms', 'lost', 'CPU µs/deliv', 'gen lag p99', 'other cores', 'ok']];
    for (const l of ladderRuns) {
      rows.push([
        l.stack,
        String(l.rate),
        String(l.attempt),
        String(l.offered),
        l.p99.toFixed(1),
        String(l.lost),
        l.cpuUs === undefined ? '–' : l.cpuUs.toFixed(1),
        l.lag.toFixed(1),
        l.other === undefined ? '–' : l.other.toFixed(2),
        l.pass ? 'yes' : 'no',
      ]);
      if (l.pass) sustainable[l.stack] = Math.max(sustainable[l.stack] ?? 0, l.rate);
    }
    lines.push(formatTable(rows, v.markdown));
    for (const s of stacks) lines.push(`  sustainable ${s}: ${sustainable[s] ?? 'below the first rung'} msgs/s`);
  }
  if (Object.keys(conns).length) {
    const ccols = stacks.filter((s) => conns[s]).map((s) => ({ label: s, result: conns[s]! }));
    lines.push(`\nIdle connections (${connCount}), median of ${rounds} rounds, each on a fresh cluster:`);
    lines.push(formatTable(compareRows(ccols), v.markdown));
  }
  const rc = cols.find((c) => c.label === 'roomcast')?.result;
  const sio = cols.find((c) => c.label === 'socketio')?.result;
  const ratios: Record<string, number | undefined> = {};
  if (rc && sio) {
    const q = (a: number | undefined, b: number | undefined): number | undefined => (a !== undefined && b ? round(a / b, 3) : undefined);
    ratios.cpuPerDelivery = q(rc.server?.cpuUsPerDelivery.total, sio.server?.cpuUsPerDelivery.total);
    ratios.p99 = q(rc.latency.p99, sio.latency.p99);
    ratios.sustainableRate = q(sustainable.roomcast, sustainable.socketio);
    ratios.rssPerConnection = q(conns.roomcast?.server?.rssPerConnectionKiB?.total, conns.socketio?.server?.rssPerConnectionKiB?.total);
    lines.push(
      `\nRoomcast / Socket.IO: CPU per delivery ${ratios.cpuPerDelivery ?? '–'}× (target ≤ 0.5), p99 ${ratios.p99 ?? '–'}×, ` +
        `sustainable rate ${ratios.sustainableRate ?? '–'}× (target ≥ 2), memory per connection ${ratios.rssPerConnection ?? '–'}× (target ≤ 0.6)`,
    );
  }
  const floor = cols.find((c) => c.label === 'floor')?.result;
  if (rc?.server && floor?.server) {
    const a = rc.server.cpuUsPerDelivery;
    const b = floor.server.cpuUsPerDelivery;
    const d = (x: number | undefined, y: number | undefined): string => (x !== undefined && y !== undefined ? (x - y).toFixed(2) : '–');
    lines.push(`\nRoomcast − floor: CPU per delivery ${d(a.total, b.total)} µs (replicas ${d(a.replicas, b.replicas)}, nginx ${d(a.nginx, b.nginx)}, redis ${d(a.redis, b.redis)})`);
  }
  console.log(lines.join('\n'));
  const file = await writeJson(resultsDir(v.out), `compare-peer-${ts}`, {
    kind: 'roomcast-compare-peer',
    config: { ...cfg, rounds, ladder, ladderDuration, connCount },
    medians: Object.fromEntries(cols.map((c) => [c.label, { totals: c.result.totals, latency: { ...c.result.latency, spectrum: undefined, histogram: undefined }, server: c.result.server, generator: c.result.generator }])),
    ladder: ladderRuns,
    sustainable,
    connections: Object.fromEntries(Object.entries(conns).map(([s, r]) => [s, { server: r.server, connect: r.connect, totals: { connected: r.totals.connected } }])),
    ratios,
    table: lines.join('\n'),
  });
  console.log(`  summary ${path.relative(process.env.INIT_CWD ?? process.cwd(), file)}`);
  return 0;
}

/**
 * small-rooms: the fan-out engine over many small rooms, each variant (stack ×
 * Redis layout) on a fresh cluster per run, variants alternating round by
 * round; CPU per published message by replica and by Redis shard, and the
 * medians of the rounds.
 */
async function smallRoomsScenario(v: Values): Promise<number> {
  if (v.members !== undefined && v.clients !== undefined) throw new UsageError('give --members or --clients, not both');
  const cfg = loadConfig(v, 'small-rooms', {
    rooms: 2000,
    clientsPerRoom: num(v.members, 3, 'members'),
    rate: 1000,
    warmupSec: 10,
    durationSec: 20,
  });
  const rounds = Math.max(1, num(v.rounds, 1, 'rounds'));
  const stacks = stacksOf(v.only ?? v.stack ?? 'roomcast');
  const layouts = layoutsOf(v.redis ?? 'single');
  const builds = entriesOf(v.entry);
  const variants: Array<{ stack: Stack; redis: RedisLayout; label: string; entry?: string }> = [];
  for (const stack of stacks) {
    for (const redis of layouts) {
      if (stack !== 'roomcast' && redis === 'cluster') {
        console.log(`(${stackNames[stack]}: one redis-server only, no cluster variant)`);
        continue;
      }
      if (stack !== 'roomcast' || builds.length === 0) variants.push({ stack, redis, label: `${stack} ${redis}` });
      else for (const b of builds) variants.push({ stack, redis, label: `${stack}${b.label ? ` ${b.label}` : ''} ${redis}`, entry: b.path });
    }
  }
  if (variants.length === 0) throw new UsageError('no variant to run');
  const quiet = v['wait-quiet'] ? num(v['wait-quiet'], 0, 'wait-quiet') : 0;
  const ts = stamp();
  const figures = new Map<string, SmallRoomsFigures[]>(variants.map((x) => [x.label, []]));
  let pass = true;
  for (let i = 0; i < rounds; i++) {
    for (const variant of i % 2 === 0 ? variants : [...variants].reverse()) {
      // Before every run, not once: a series of rounds outlasts the neighbours' quiet spells.
      if (quiet) await waitQuiet(quiet);
      const opts = { ...targetOptions({ ...v, entry: undefined, redis: undefined }, variant.stack, true, { replicas: 6 }), stack: variant.stack, redis: variant.redis, entry: variant.entry };
      const label = `${v.label ? `${v.label} ` : ''}small-rooms ${variant.label}${rounds > 1 ? ` round ${i + 1}` : ''}`;
      const result = await withTarget(opts, async (t) => {
        const r = await runLoad({ ...cfg, label }, t);
        const rooms = Array.from({ length: cfg.rooms }, (_, k) => roomName(String(r.config.run), k));
        r.smallRooms = smallRoomsFigures(r, t.redisShards ?? [], rooms);
        return r;
      });
      console.log(summaryLines(result).join('\n'));
      if (result.smallRooms) {
        console.log(smallRoomsLines(result.smallRooms).join('\n'));
        figures.get(variant.label)!.push(result.smallRooms);
      }
      pass &&= result.pass;
      await save(result, v, `small-rooms-${variant.label.replace(/[^a-z0-9]+/gi, '-')}-${ts}-r${i + 1}`);
    }
  }
  const cols = variants.filter((x) => figures.get(x.label)!.length).map((x) => ({ label: x.label, figures: medianFigures(figures.get(x.label)!) }));
  const title = `\nsmall-rooms, ${rounds > 1 ? `median of ${rounds} alternating rounds` : 'one round'} (${cfg.rooms} rooms × ${cfg.clientsPerRoom} members, ${cfg.rate} msgs/s, ${num(v.replicas, 6, 'replicas')} replicas, ${cfg.durationSec} s):`;
  const table = cols.length ? `${title}\n${formatTable(smallRoomsRows(cols), v.markdown)}` : '';
  console.log(table);
  const file = await writeJson(resultsDir(v.out), `small-rooms-${ts}`, { kind: 'roomcast-small-rooms', config: { ...cfg, rounds, variants }, medians: Object.fromEntries(cols.map((c) => [c.label, c.figures])), runs: Object.fromEntries(figures), table });
  console.log(`  summary ${path.relative(process.env.INIT_CWD ?? process.cwd(), file)}`);
  return pass ? 0 : 1;
}

/** Waits (up to `maxSec`) until the machine's busy CPU over 2 s falls below 0.3 cores. */
async function waitQuiet(maxSec: number): Promise<void> {
  const deadline = Date.now() + maxSec * 1000;
  for (;;) {
    const a = machineBusySec();
    await new Promise((r) => setTimeout(r, 2000));
    const cores = (machineBusySec() - a) / 2;
    if (cores < 0.3) return;
    if (Date.now() >= deadline) {
      console.log(`machine still busy (${cores.toFixed(2)} cores used by other processes): going ahead`);
      return;
    }
    console.log(`waiting for a quiet machine: ${cores.toFixed(2)} cores busy`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    console.log(HELP);
    return 0;
  }
  const { values: v, positionals } = parse(rest);
  if (v.help) {
    console.log(HELP);
    return 0;
  }
  // small-rooms waits before each of its runs.
  if (v['wait-quiet'] && command !== 'small-rooms') await waitQuiet(num(v['wait-quiet'], 0, 'wait-quiet'));
  switch (command) {
    case 'fanout':
      return loadScenario(v, 'fanout', {}, false);
    case 'bench':
      return loadScenario(v, 'bench', { rooms: 10, clientsPerRoom: 50, rate: 500, warmupSec: 3, durationSec: 20 }, true);
    case 'soak':
      return loadScenario(v, 'soak', { rate: 100, rooms: 10, clientsPerRoom: 20, warmupSec: 5, durationSec: 600, churnPerSec: 2, typingPerSec: 5 }, false);
    case 'chaos':
      return loadScenario(v, 'chaos', { rate: 200, rooms: 10, clientsPerRoom: 20, warmupSec: 3, durationSec: 30, drainSec: 30 }, true);
    case 'connections':
      return connectionsScenario(v);
    case 'compare-peer':
      return comparePeer(v);
    case 'small-rooms':
      return smallRoomsScenario(v);
    case 'report': {
      if (positionals.length !== 1) throw new UsageError('report wants one result file');
      const file = positionals[0]!;
      const html = await writeReport(await readResult(file), path.resolve(v.out ?? file.replace(/\.json$/, '') + '.html'));
      console.log(html);
      return 0;
    }
    case 'compare': {
      if (positionals.length < 2) throw new UsageError('compare wants two or more result files');
      const cols = await Promise.all(positionals.map(async (f) => ({ label: path.basename(f, '.json'), result: await readResult(f) })));
      console.log(cols.map((c, i) => `  [${i}] ${c.label}: ${c.result.label}`).join('\n'));
      console.log(formatTable(compareRows(cols.map((c, i) => ({ label: `[${i}]`, result: c.result }))), v.markdown));
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

const isMain = process.argv[1] && path.resolve(process.argv[1]).replace(/\.ts$/, '') === path.resolve(new URL(import.meta.url).pathname).replace(/\.ts$/, '');
if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
        console.error(`error: ${(err as Error).message}\n(npm run loadtest -- help)`);
        process.exit(2);
      }
      console.error(err);
      process.exit(1);
    },
  );
}
