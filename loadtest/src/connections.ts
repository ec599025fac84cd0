/**
 * `connections`: open K sockets at a given rate, join rooms, hold them; report
 * connect-time percentiles and the servers' memory per connection (RSS after
 * minus RSS before, divided by K) from their pids, and /metrics when reachable.
 */
import { randomBytes } from 'node:crypto';
import type { RoomLedger } from './accounting.js';
import { Fleet, forEachLimited, sleep } from './fleet.js';
import { mapValues, round } from './load.js';
import { fetchMetrics } from './metrics.js';
import { Monitor } from './monitor.js';
import { ProcMeter } from './procstat.js';
import { Progress } from './progress.js';
import { buildResult, zeroTotals, type Result, type Totals } from './result.js';
import { LatencyRecorder } from './stats.js';
import { watchReplicas, type Target } from './target.js';

export interface ConnectionsConfig {
  scenario: string;
  label?: string;
  count: number;
  /** Sockets opened per second. */
  rate: number;
  /** Rooms the sockets join, round robin (0: none, idle sockets). */
  rooms: number;
  holdSec: number;
  concurrency: number;
  /** Mint tokens locally when the target allows it (launched cluster, --secret), instead of logging in. */
  mintTokens: boolean;
  connectTimeoutMs: number;
}

export const defaultConnections: ConnectionsConfig = {
  scenario: 'connections',
  count: 1000,
  rate: 500,
  rooms: 10,
  holdSec: 10,
  concurrency: 128,
  mintTokens: true,
  connectTimeoutMs: 15_000,
};

export async function runConnections(cfg: ConnectionsConfig, target: Target, progress = new Progress()): Promise<Result> {
  const startedAt = new Date();
  const run = randomBytes(4).toString('hex');
  const fleet = new Fleet(target.transport, { run, connectTimeoutMs: cfg.connectTimeoutMs, reconnect: false });
  const rooms: RoomLedger[] = Array.from({ length: cfg.rooms }, (_, r) => fleet.ledger.addRoom(`lt-${run}-${r}`));
  for (let i = 0; i < cfg.count; i++) fleet.addClient(rooms.length ? rooms[i % rooms.length] : undefined);
  const warnings: string[] = [];
  const warn = (w: string): void => {
    warnings.push(w);
    progress.log(`! ${w}`);
  };
  const latency = new LatencyRecorder();
  const meter = target.pidGroups ? new ProcMeter(target.pidGroups) : undefined;
  const replicaUrls = target.replicas.length ? target.replicas.map((r) => r.url) : [target.url];
  const title = `connections ${target.stack}`;
  const errors = (): number => Object.values(fleet.counters.connectErrors).reduce((a, b) => a + b, 0);
  const monitor = new Monitor(
    () => ({ sent: 0, acked: 0, delivered: 0, errors: errors(), connections: fleet.connected }),
    latency,
    meter,
    progress,
    () => ({ title, totalSec: 0, askedRate: 0, errorsTotal: errors() }),
  );
  monitor.start();
  const exits = watchReplicas(target, (what) => {
    monitor.mark(what);
    warn(what);
  });
  progress.log(`${title}: ${cfg.count} sockets at ${cfg.rate}/s into ${cfg.rooms} rooms, hold ${cfg.holdSec} s, target ${target.url}`);
  try {
    // Tokens first, and minted when the tool holds the secret: HTTP logins would leave
    // garbage in the replicas' heaps that later sockets reuse, hiding their real cost.
    monitor.setPhase('connect');
    const mint = cfg.mintTokens && target.transport.mint !== undefined;
    await forEachLimited(fleet.clients, 32, 0, async (c) => {
      await fleet.login(c, mint).catch(() => undefined);
    });
    monitor.mark(`${fleet.clients.filter((c) => c.token).length} tokens ${mint ? 'minted' : 'from POST /api/login'}`);
    await sleep(1000);
    const before = meter?.poll();
    const metricsBefore = await fetchMetrics(replicaUrls);
    const connectStart = performance.now();
    await forEachLimited(
      fleet.clients.filter((c) => c.token),
      cfg.concurrency,
      cfg.rate,
      async (c) => {
        await fleet.open(c).catch(() => undefined);
      },
    );
    const connectSec = (performance.now() - connectStart) / 1000;
    monitor.mark(`${fleet.connected} of ${cfg.count} connected in ${connectSec.toFixed(1)} s`);
    if (fleet.connected < cfg.count) warn(`${cfg.count - fleet.connected} sockets failed: ${JSON.stringify(fleet.counters.connectErrors)}`);
    monitor.setPhase('hold');
    await sleep(cfg.holdSec * 1000);
    const after = meter?.poll();
    const metricsAfter = await fetchMetrics(replicaUrls);
    if (fleet.connected < cfg.count) warn(`${cfg.count - fleet.connected} sockets were not open at the end of the hold`);

    const byNode: Record<string, number> = {};
    for (const c of fleet.clients) if (c.connected) byNode[c.node] = (byNode[c.node] ?? 0) + 1;
    const n = fleet.connected;
    let server: Result['server'];
    if (before && after) {
      const rssBeforeKiB = { ...mapValues(before, (g) => g.rssKiB) };
      const rssAfterKiB = { ...mapValues(after, (g) => g.rssKiB) };
      rssBeforeKiB.total = Object.values(rssBeforeKiB).reduce((a, b) => a + b, 0);
      rssAfterKiB.total = Object.values(rssAfterKiB).reduce((a, b) => a + b, 0);
      server = {
        cpuSec: {},
        cpuUsPerDelivery: {},
        rssBeforeKiB,
        rssAfterKiB,
        rssPerConnectionKiB: mapValues(rssAfterKiB, (kib) => kib),
      };
      for (const g of Object.keys(rssAfterKiB)) server.rssPerConnectionKiB![g] = n ? round((rssAfterKiB[g]! - (rssBeforeKiB[g] ?? 0)) / n, 2) : 0;
    }
    const perConnMetric =
      metricsBefore?.process_resident_memory_bytes !== undefined && metricsAfter?.process_resident_memory_bytes !== undefined && n
        ? round((metricsAfter.process_resident_memory_bytes - metricsBefore.process_resident_memory_bytes) / 1024 / n, 2)
        : undefined;
    if (perConnMetric !== undefined) monitor.mark(`/metrics: replicas' resident memory grew ${perConnMetric} KiB per connection`);

    const totals: Totals = {
      ...zeroTotals(),
      clients: cfg.count,
      connected: n,
      byNode,
      ...fleet.counters,
    };
    return buildResult(
      {
        scenario: cfg.scenario,
        label: cfg.label ?? `connections ${target.stack} ${cfg.count}`,
        startedAt,
        config: { ...cfg, run, connectSeconds: round(connectSec, 2) },
        target, fleet, latency, monitor, metricsBefore, metricsAfter,
      },
      {
        totals,
        server,
        generator: { cpuPercent: 0, lagP50: 0, lagP99: 0, lagMax: 0 },
        warnings,
        pass: n === cfg.count,
      },
    );
  } finally {
    exits.stop();
    monitor.stop();
    await fleet.closeAll();
  }
}
