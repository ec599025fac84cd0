/** The JSON result every scenario writes, and where it goes. */
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { IdMismatchSample, Verdict } from './accounting.js';
import type { SmallRoomsFigures } from './small-rooms.js';
import type { Counters, Fleet } from './fleet.js';
import type { Monitor } from './monitor.js';
import { encodeHistogram, spectrum, summarize, type LatencyRecorder, type LatencySummary, type SpectrumPoint } from './stats.js';
import type { Stack, Target } from './target.js';

/** One second of the run. */
export interface SeriesPoint {
  /** Seconds since the run started (first connection attempt). */
  t: number;
  phase: Phase;
  connections: number;
  sent: number;
  acked: number;
  /** Distinct deliveries received this second. */
  delivered: number;
  errors: number;
  /** Latency of deliveries received this second (ms). */
  p50: number;
  p99: number;
  max: number;
  /** Load generator: event loop delay p99 (ms) and CPU (% of one core). */
  lagP99: number;
  genCpu: number;
  /** Server CPU (% of one core) and RSS (MiB) of all measured processes, when known. */
  serverCpu?: number;
  serverRssMiB?: number;
}

export type Phase = 'connect' | 'warmup' | 'measure' | 'drain' | 'hold';

export interface RunEvent {
  t: number;
  what: string;
}

export interface ServerCost {
  /** CPU seconds used in the measured window, by group (replicas, nginx, redis) and total. */
  cpuSec: Record<string, number>;
  /** Microseconds of server CPU per delivery in the window, by group and total. */
  cpuUsPerDelivery: Record<string, number>;
  /** Resident memory (KiB) before load and at its peak point, by group and total. */
  rssBeforeKiB: Record<string, number>;
  rssAfterKiB: Record<string, number>;
  /** (after - before) / connections, KiB, by group and total (connections scenario). */
  rssPerConnectionKiB?: Record<string, number>;
  /** The same window's CPU of each process on its own (each replica, each Redis shard), when the target lists them. */
  processes?: ProcessCost[];
}

export interface ProcessCost {
  /** n1…, nginx, s1… (Redis masters by slot order), r<port> (Redis Cluster replicas). */
  name: string;
  group: string;
  cpuSec: number;
  cpuUsPerDelivery: number;
}

export interface Result {
  kind: 'roomcast-loadtest';
  version: 1;
  scenario: string;
  stack: Stack;
  label: string;
  startedAt: string;
  config: Record<string, unknown>;
  target: { url: string; launched: boolean; pids?: Record<string, number[]>; nodes?: string[] };
  environment: Environment;
  totals: Totals;
  latency: LatencySummary & { spectrum: SpectrumPoint[]; histogram: string };
  connect: { login: LatencySummary; socket: LatencySummary; join: LatencySummary };
  server?: ServerCost;
  metrics?: { before?: Record<string, number>; after?: Record<string, number> };
  generator: { cpuPercent: number; lagP50: number; lagP99: number; lagMax: number };
  /** Whole-machine CPU in the window (cores busy), and what neither the servers nor the generator used. */
  machine?: { busyCores: number; softirqCores?: number; otherCores?: number };
  series: SeriesPoint[];
  events: RunEvent[];
  warnings: string[];
  /** Accounting verdict: pass when nothing acknowledged was lost or duplicated. */
  pass: boolean;
  /** small-rooms: CPU per published message by replica and by Redis shard. */
  smallRooms?: SmallRoomsFigures;
}

/** What a run counted: the fleet's counters, the ledger's verdict, and the rates in the window. */
export interface Totals extends Counters, Omit<Verdict, 'pending'> {
  clients: number;
  connected: number;
  /** Connections per replica (welcome.node) at the end of setup. */
  byNode: Record<string, number>;
  /** Sends that found no connected member in the room (chaos, churn). */
  skipped: number;
  /** Messages sent / acked in the measured window, and per second. */
  windowSent: number;
  windowAcked: number;
  offeredRate: number;
  ackedRate: number;
  /** Message frames of this run received in the measured window, and per second. */
  windowDeliveries: number;
  deliveriesPerSec: number;
  idMismatchSamples: IdMismatchSample[];
}

/** Totals with every count zero and every map and list empty; a scenario fills in what it counted. */
export function zeroTotals(): Totals {
  return {
    clients: 0,
    connected: 0,
    byNode: {},
    connectErrors: {},
    errors: {},
    closes: {},
    frames: {},
    reconnects: 0,
    truncatedResumes: 0,
    sent: 0,
    acked: 0,
    failed: 0,
    unknown: 0,
    skipped: 0,
    windowSent: 0,
    windowAcked: 0,
    offeredRate: 0,
    ackedRate: 0,
    windowDeliveries: 0,
    deliveriesPerSec: 0,
    deliveries: 0,
    expectedDeliveries: 0,
    lost: 0,
    duplicated: 0,
    outOfOrder: 0,
    idMismatches: 0,
    foreign: 0,
    lostSamples: [],
    idMismatchSamples: [],
  };
}

/** What every scenario's run holds, from which the common part of its result is read. */
export interface RunRecord {
  scenario: string;
  label: string;
  startedAt: Date;
  config: Record<string, unknown>;
  target: Target;
  fleet: Pick<Fleet, 'loginTimes' | 'connectTimes' | 'joinTimes'>;
  latency: LatencyRecorder;
  monitor: Pick<Monitor, 'series' | 'events'>;
  metricsBefore: Record<string, number> | undefined;
  metricsAfter: Record<string, number> | undefined;
}

/** What a scenario measured in its own way. */
export type ScenarioFigures = Pick<Result, 'totals' | 'server' | 'generator' | 'machine' | 'warnings' | 'pass'>;

/** The result of a run: the common part read from `run`, the rest as the scenario gives it. */
export function buildResult(run: RunRecord, figures: ScenarioFigures): Result {
  const { target, fleet, latency, metricsBefore, metricsAfter } = run;
  return {
    kind: 'roomcast-loadtest',
    version: 1,
    scenario: run.scenario,
    stack: target.stack,
    label: run.label,
    startedAt: run.startedAt.toISOString(),
    config: run.config,
    target: { url: target.url, launched: target.launched, pids: target.pidGroups?.(), nodes: target.replicas.map((r) => r.nodeId) },
    environment: environment(),
    totals: figures.totals,
    latency: { ...summarize(latency.total), spectrum: spectrum(latency.total), histogram: encodeHistogram(latency.total) },
    connect: { login: summarize(fleet.loginTimes), socket: summarize(fleet.connectTimes), join: summarize(fleet.joinTimes) },
    server: figures.server,
    metrics: metricsBefore || metricsAfter ? { before: metricsBefore, after: metricsAfter } : undefined,
    generator: figures.generator,
    // Only a scenario that measured the machine has the key at all.
    ...(figures.machine !== undefined ? { machine: figures.machine } : {}),
    series: run.monitor.series,
    events: run.monitor.events,
    warnings: figures.warnings,
    pass: figures.pass,
  };
}

export interface Environment {
  node: string;
  platform: string;
  cpus: number;
  cpuModel: string;
  memGiB: number;
  hostname: string;
  loadavg: number[];
  gitCommit?: string;
}

export function environment(): Environment {
  let gitCommit: string | undefined;
  try {
    gitCommit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    gitCommit = undefined;
  }
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? '',
    memGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    hostname: os.hostname(),
    loadavg: os.loadavg().map((x) => Math.round(x * 100) / 100),
    gitCommit,
  };
}

/** Where results go: --out, else loadtest-results/ in the directory npm was started from. */
export function resultsDir(out: string | undefined): string {
  return path.resolve(out ?? path.join(process.env.INIT_CWD ?? process.cwd(), 'loadtest-results'));
}

export function stamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-').replace(/Z$/, '');
}

/** Writes <dir>/<name>.json and returns its path. */
export async function writeJson(dir: string, name: string, data: unknown): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, `${JSON.stringify(data, null, 1)}\n`);
  return file;
}
