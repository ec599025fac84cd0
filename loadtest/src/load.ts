/**
 * The fan-out engine behind `fanout`, `bench`, `soak`, `chaos` and
 * `compare-peer`: R rooms × C clients, M messages/s in total from random
 * members, a warm-up, a measured window, then a drain in which every
 * acknowledged message must reach every member of its room exactly once.
 *
 * soak adds reconnect churn and typing; chaos kills a replica in the window
 * (and restarts it); the clients it held reconnect and resume with `since`.
 */
import { randomBytes } from 'node:crypto';
import type { RoomLedger } from './accounting.js';
import { Fleet, forEachLimited, sleep, type Client } from './fleet.js';
import { fetchMetrics } from './metrics.js';
import { lagMs, Monitor } from './monitor.js';
import { encodeText, nowUs } from './payload.js';
import { delta, machineCpu, ProcMeter, type Sample } from './procstat.js';
import { Progress } from './progress.js';
import { buildResult, type Result, type ServerCost, type Totals } from './result.js';
import { LatencyRecorder } from './stats.js';
import { watchReplicas, type Target } from './target.js';

export interface LoadConfig {
  scenario: string;
  label?: string;
  rooms: number;
  clientsPerRoom: number;
  /** Messages per second offered in total. */
  rate: number;
  warmupSec: number;
  durationSec: number;
  /** Longest wait after sending stops for the last acks and deliveries. */
  drainSec: number;
  /** Message text length (bytes); the minimum is what the timestamp needs. */
  size: number;
  connectConcurrency: number;
  /** Connections started per second during setup (0: as fast as concurrency allows). */
  connectRate: number;
  connectTimeoutMs: number;
  /** soak: sockets closed and resumed per second. */
  churnPerSec: number;
  /** soak: typing frames per second. */
  typingPerSec: number;
  /** chaos: kill -9 a replica `atSec` into the measured window. */
  kill?: { atSec: number; replica?: string; restartAfterSec: number };
  /** Warn when the generator's event loop p99 delay passes this (ms). */
  lagWarnMs: number;
  /**
   * Mint tokens when the tool holds the target's secret (a launched cluster,
   * or --secret) instead of logging in over HTTP: replicas limit logins per
   * address, and every client of the generator comes from one address.
   */
  mintTokens: boolean;
}

export const defaultLoad: LoadConfig = {
  scenario: 'fanout',
  rooms: 10,
  clientsPerRoom: 50,
  rate: 500,
  warmupSec: 5,
  durationSec: 20,
  drainSec: 10,
  size: 0,
  connectConcurrency: 64,
  connectRate: 0,
  connectTimeoutMs: 10_000,
  churnPerSec: 0,
  typingPerSec: 0,
  lagWarnMs: 50,
  mintTokens: true,
};

export async function runLoad(cfg: LoadConfig, target: Target, progress = new Progress()): Promise<Result> {
  const startedAt = new Date();
  const run = randomBytes(4).toString('hex');
  const fleet = new Fleet(target.transport, { run, connectTimeoutMs: cfg.connectTimeoutMs, reconnect: true, mintTokens: cfg.mintTokens });
  const rooms: RoomLedger[] = [];
  const roomClients: Client[][] = [];
  for (let r = 0; r < cfg.rooms; r++) {
    const room = fleet.ledger.addRoom(roomName(run, r));
    rooms.push(room);
    roomClients.push(Array.from({ length: cfg.clientsPerRoom }, () => fleet.addClient(room)));
  }
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
    progress.log(`! ${w}`);
  };

  // ---- counters the engine keeps (the Fleet and Ledger keep the rest)
  const latency = new LatencyRecorder();
  let sent = 0;
  let skipped = 0;
  let behind = 0;
  let delivered = 0;
  let windowDeliveries = 0;
  let windowStartUs = Infinity;
  let windowEndUs = Infinity;
  let measuring = false;
  fleet.onDelivery = (_c, sentAtUs, receivedAtUs, duplicate) => {
    if (measuring) windowDeliveries++;
    if (duplicate) return;
    delivered++;
    latency.record(receivedAtUs - sentAtUs, sentAtUs >= windowStartUs && sentAtUs < windowEndUs);
  };
  const errorsTotal = (): number => Object.values(fleet.counters.errors).reduce((a, b) => a + b, 0);
  const ackedTotal = (): number => rooms.reduce((s, r) => s + r.acked, 0);

  const meter = target.pidGroups ? new ProcMeter(target.pidGroups) : undefined;
  // Each process on its own too (a replica, a Redis shard), read at the window's edges only.
  const processes = target.processes;
  const processMeter = processes ? new ProcMeter(() => Object.fromEntries(processes().map((p) => [p.name, [p.pid]]))) : undefined;
  const replicaUrls = target.replicas.map((r) => r.url);
  const metricsBefore = await fetchMetrics(replicaUrls.length ? replicaUrls : [target.url]);
  const rssBefore = meter?.poll();
  const title = `${cfg.scenario} ${target.stack}`;
  const monitor = new Monitor(
    () => ({ sent, acked: ackedTotal(), delivered, errors: errorsTotal(), connections: fleet.connected }),
    latency,
    meter,
    progress,
    () => ({ title, totalSec: cfg.warmupSec + cfg.durationSec, askedRate: cfg.rate, errorsTotal: errorsTotal() }),
  );
  monitor.start();
  const exits = watchReplicas(target, (what) => {
    monitor.mark(what);
    warn(what);
  });
  progress.log(`${title}: ${cfg.rooms} rooms × ${cfg.clientsPerRoom} clients, ${cfg.rate} msgs/s, target ${target.url}`);

  try {
    // ---- setup: login, connect, join every client
    monitor.setPhase('connect');
    const all = fleet.clients;
    await forEachLimited(all, cfg.connectConcurrency, cfg.connectRate, async (c) => {
      await fleet.openWithRetry(c, 3);
    });
    const byNode: Record<string, number> = {};
    for (const c of all) if (c.connected) byNode[c.node] = (byNode[c.node] ?? 0) + 1;
    monitor.mark(`${fleet.connected} of ${all.length} connected: ${Object.entries(byNode).map(([n, k]) => `${n}=${k}`).join(' ')}`);
    if (fleet.connected < all.length) warn(`${all.length - fleet.connected} clients could not connect (${JSON.stringify(fleet.counters.connectErrors)})`);
    if (fleet.connected === 0) throw new Error(`no client could connect to ${target.url}: ${JSON.stringify(fleet.counters.connectErrors)}`);

    // ---- send: warm-up, then the measured window
    let windowStart: Sample | undefined;
    let windowEnd: Sample | undefined;
    let processStart: Sample | undefined;
    let processEnd: Sample | undefined;
    let windowCpuStart = process.cpuUsage();
    let machineStart = machineCpu();
    let machineSec = 0;
    let softirqSec = 0;
    let windowCpu = { user: 0, system: 0 };
    let windowSeqs: number[][] = [];
    let windowSent = 0;
    const seqMarks = (): number[] => rooms.map((r) => r.outcomes.length);

    const sendOne = (): void => {
      const r = sent % rooms.length;
      const members = roomClients[r]!;
      let c: Client | undefined;
      for (let tries = 0; tries < 8 && !c; tries++) {
        const pick = members[Math.floor(Math.random() * members.length)]!;
        if (pick.connected && pick.member) c = pick;
      }
      sent++;
      if (!c) {
        skipped++;
        return;
      }
      const room = rooms[r]!;
      const seq = fleet.ledger.nextSeq(room);
      fleet.send(c, encodeText(run, seq, nowUs(), cfg.size), seq);
      if (measuring) windowSent++;
    };
    const randomConnected = (): Client | undefined => {
      for (let tries = 0; tries < 8; tries++) {
        const c = all[Math.floor(Math.random() * all.length)]!;
        if (c.connected && c.conn && c.room) return c;
      }
      return undefined;
    };

    let windowEntered = false;
    const enterMeasure = (): void => {
      windowEntered = true;
      windowStart = meter?.poll();
      processStart = processMeter?.poll();
      windowCpuStart = process.cpuUsage();
      machineStart = machineCpu();
      windowSeqs = [seqMarks()];
      windowStartUs = nowUs();
      measuring = true;
      monitor.windowLag.enable();
      monitor.setPhase('measure');
      if (cfg.kill) scheduleKill(cfg.kill);
    };
    const enterDrain = (): void => {
      measuring = false;
      windowEndUs = nowUs();
      windowEnd = meter?.poll();
      processEnd = processMeter?.poll();
      windowCpu = process.cpuUsage(windowCpuStart);
      const m = machineCpu();
      machineSec = m.busySec - machineStart.busySec;
      softirqSec = m.softirqSec - machineStart.softirqSec;
      windowSeqs.push(seqMarks());
      monitor.windowLag.disable();
      monitor.setPhase('drain');
    };
    const scheduleKill = (kill: NonNullable<LoadConfig['kill']>): void => {
      setTimeout(() => {
        void (async () => {
          const counts = new Map<string, number>();
          for (const c of all) if (c.connected) counts.set(c.node, (counts.get(c.node) ?? 0) + 1);
          const victim =
            target.replicas.find((r) => r.nodeId === kill.replica) ??
            [...target.replicas].sort((a, b) => (counts.get(b.nodeId) ?? 0) - (counts.get(a.nodeId) ?? 0))[0];
          if (!victim) return warn('chaos: no launched replica to kill');
          monitor.mark(`kill -9 ${victim.nodeId} (pid ${victim.pid}, ${counts.get(victim.nodeId) ?? 0} of our sockets)`);
          exits.expect(victim.nodeId);
          await victim.kill('SIGKILL');
          if (kill.restartAfterSec > 0) {
            await sleep(kill.restartAfterSec * 1000);
            await victim.start();
            monitor.mark(`${victim.nodeId} restarted (pid ${victim.pid})`);
          }
        })().catch((err: unknown) => warn(`chaos: ${(err as Error).message}`));
      }, kill.atSec * 1000);
    };

    monitor.setPhase('warmup');
    const sendStart = performance.now();
    const warmupMs = cfg.warmupSec * 1000;
    const totalMs = warmupMs + cfg.durationSec * 1000;
    // Tick often enough that sends are spread, not bunched; catch up at most 100 ms worth per tick.
    const tickMs = Math.max(1, Math.min(10, Math.floor(1000 / Math.max(1, cfg.rate))));
    const maxBurst = Math.max(1, Math.ceil(cfg.rate / 10));
    let churned = 0;
    let typed = 0;
    if (cfg.warmupSec === 0) enterMeasure();
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const el = performance.now() - sendStart;
        if (!windowEntered && el >= warmupMs) enterMeasure();
        if (el >= totalMs) {
          clearInterval(timer);
          enterDrain();
          resolve();
          return;
        }
        const due = Math.floor((cfg.rate * el) / 1000);
        if (due - sent > maxBurst) {
          // The generator fell behind (its own event loop stalled): these sends are not offered.
          behind += due - sent - maxBurst;
          sent = due - maxBurst;
        }
        while (sent < due) sendOne();
        const churnDue = Math.floor((cfg.churnPerSec * el) / 1000);
        for (; churned < churnDue; churned++) {
          const c = randomConnected();
          if (c) void fleet.churn(c);
        }
        const typingDue = Math.floor((cfg.typingPerSec * el) / 1000);
        for (; typed < typingDue; typed++) {
          const c = randomConnected();
          c?.conn?.typing(c.room!.name);
        }
      }, tickMs);
    });

    // ---- drain: wait for the last outcomes and deliveries
    const deadline = performance.now() + cfg.drainSec * 1000;
    while (performance.now() < deadline) {
      if (fleet.ledger.maybeComplete() && fleet.ledger.verify(0).lost === 0) break;
      await sleep(50);
    }
    const verdict = fleet.ledger.verify();
    const metricsAfter = await fetchMetrics(replicaUrls.length ? replicaUrls : [target.url]);

    // ---- figures
    const duration = cfg.durationSec;
    const [startMarks, endMarks] = windowSeqs;
    let windowAcked = 0;
    if (startMarks && endMarks) {
      rooms.forEach((room, r) => {
        for (let seq = startMarks[r]!; seq < endMarks[r]!; seq++) if (room.outcomes[seq] === 'acked') windowAcked++;
      });
    }
    // `pending` stays out: sends without an outcome are a warning and fail the run (below).
    const { pending: _pending, ...accounted } = verdict;
    const totals: Totals = {
      clients: all.length,
      connected: fleet.connected,
      byNode,
      ...fleet.counters,
      ...accounted,
      skipped,
      windowSent,
      windowAcked,
      offeredRate: round(windowSent / duration, 1),
      ackedRate: round(windowAcked / duration, 1),
      windowDeliveries,
      deliveriesPerSec: round(windowDeliveries / duration, 1),
      idMismatchSamples: fleet.ledger.idMismatchSamples,
    };
    let server: ServerCost | undefined;
    if (windowStart && windowEnd && rssBefore) {
      const d = delta(windowStart, windowEnd);
      server = {
        cpuSec: mapValues(d, (g) => round(g.cpuSec, 3)),
        cpuUsPerDelivery: mapValues(d, (g) => (windowDeliveries ? round((g.cpuSec * 1e6) / windowDeliveries, 2) : 0)),
        rssBeforeKiB: withTotal(mapValues(rssBefore, (g) => g.rssKiB)),
        rssAfterKiB: mapValues(d, (g) => g.rssAfterKiB),
      };
      if (processes && processStart && processEnd) {
        const dp = delta(processStart, processEnd);
        server.processes = processes().map((p) => ({
          name: p.name,
          group: p.group,
          cpuSec: round(dp[p.name]?.cpuSec ?? 0, 3),
          cpuUsPerDelivery: windowDeliveries ? round(((dp[p.name]?.cpuSec ?? 0) * 1e6) / windowDeliveries, 2) : 0,
        }));
      }
    }
    const generator = {
      cpuPercent: round((windowCpu.user + windowCpu.system) / 1e4 / duration, 1),
      lagP50: round(lagMs(monitor.windowLag, 50), 2),
      lagP99: round(lagMs(monitor.windowLag, 99), 2),
      lagMax: round(lagMs(monitor.windowLag, 'max'), 2),
    };

    // On a shared machine other processes steal the cores the servers and the generator need.
    const genSec = (windowCpu.user + windowCpu.system) / 1e6;
    // softirq (the kernel's loopback TCP work) is charged to no process: shown apart, not "other".
    const machine = {
      busyCores: round(machineSec / duration, 2),
      softirqCores: round(softirqSec / duration, 2),
      otherCores: server ? round(Math.max(0, machineSec - softirqSec - genSec - (server.cpuSec.total ?? 0)) / duration, 2) : undefined,
    };

    // ---- self-checks: never let a saturated client pass for a slow server
    if (totals.offeredRate < cfg.rate * 0.95) {
      warn(`load generator offered ${totals.offeredRate} msgs/s of the ${cfg.rate} asked` + (behind ? ` (${behind} sends dropped while it lagged)` : '') + (skipped ? ` (${skipped} found no connected sender)` : ''));
    }
    if (generator.lagP99 > cfg.lagWarnMs) warn(`load generator event loop delay p99 ${generator.lagP99} ms (max ${generator.lagMax} ms): latencies include client-side delay`);
    if (machine.otherCores !== undefined && machine.otherCores > 0.15) {
      warn(`other processes on this machine used ${machine.otherCores} cores during the window: figures are disturbed`);
    }
    if (generator.cpuPercent > 90) warn(`load generator used ${generator.cpuPercent}% of a core: it may be the bottleneck`);
    if (totals.lost || totals.duplicated || totals.outOfOrder || totals.idMismatches) {
      warn(`accounting: lost ${totals.lost}, duplicated ${totals.duplicated}, out of order ${totals.outOfOrder}, id mismatches ${totals.idMismatches}`);
    }
    if (verdict.pending) warn(`${verdict.pending} sends never got an outcome (neither their own message nor an error)`);
    if (totals.errors.rate_limited) warn(`${totals.errors.rate_limited} sends were rate-limited by the server (raise its rate limit or add clients)`);
    if (totals.truncatedResumes) warn(`${totals.truncatedResumes} resumes found history truncated`);
    const closes = Object.values(totals.closes).reduce((a, b) => a + b, 0);
    if (closes && !cfg.kill) warn(`the server or network closed ${closes} sockets: ${JSON.stringify(totals.closes)}`);

    return buildResult(
      {
        scenario: cfg.scenario,
        label: cfg.label ?? `${cfg.scenario} ${target.stack}`,
        startedAt,
        config: { ...cfg, run },
        target, fleet, latency, monitor, metricsBefore, metricsAfter,
      },
      {
        totals,
        server,
        generator,
        machine,
        warnings,
        pass: verdict.lost === 0 && verdict.duplicated === 0 && verdict.outOfOrder === 0 && verdict.idMismatches === 0 && verdict.pending === 0,
      },
    );
  } finally {
    exits.stop();
    monitor.stop();
    await fleet.closeAll();
  }
}

/** The name of room `index` of run `run` (the run tag is in the result's config). */
export function roomName(run: string, index: number): string {
  return `lt-${run}-${index}`;
}

export function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function mapValues<T, U>(o: Record<string, T>, fn: (v: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
}

function withTotal(o: Record<string, number>): Record<string, number> {
  return { ...o, total: Object.values(o).reduce((a, b) => a + b, 0) };
}
