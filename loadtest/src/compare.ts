/**
 * Side-by-side tables: `compare a.json b.json ...` (each column a result,
 * ratios against the first), and the one-result summary the scenarios print.
 */
import type { Result } from './result.js';

interface Metric {
  name: string;
  get: (r: Result) => number | undefined;
  digits: number;
}

const metrics: Metric[] = [
  { name: 'offered msgs/s', get: (r) => r.totals.offeredRate, digits: 1 },
  { name: 'acked msgs/s', get: (r) => r.totals.ackedRate, digits: 1 },
  { name: 'deliveries/s', get: (r) => r.totals.deliveriesPerSec, digits: 0 },
  { name: 'latency p50 ms', get: (r) => r.latency.p50, digits: 2 },
  { name: 'latency p90 ms', get: (r) => r.latency.p90, digits: 2 },
  { name: 'latency p99 ms', get: (r) => r.latency.p99, digits: 2 },
  { name: 'latency p99.9 ms', get: (r) => r.latency.p999, digits: 2 },
  { name: 'latency max ms', get: (r) => r.latency.max, digits: 2 },
  { name: 'lost', get: (r) => r.totals.lost, digits: 0 },
  { name: 'duplicated', get: (r) => r.totals.duplicated, digits: 0 },
  { name: 'out of order', get: (r) => r.totals.outOfOrder, digits: 0 },
  { name: 'error frames', get: (r) => sum(r.totals.errors), digits: 0 },
  { name: 'connect errors', get: (r) => sum(r.totals.connectErrors), digits: 0 },
  { name: 'CPU µs/delivery total', get: (r) => r.server?.cpuUsPerDelivery.total, digits: 2 },
  { name: 'CPU µs/delivery replicas', get: (r) => r.server?.cpuUsPerDelivery.replicas, digits: 2 },
  { name: 'CPU µs/delivery nginx', get: (r) => r.server?.cpuUsPerDelivery.nginx, digits: 2 },
  { name: 'CPU µs/delivery redis', get: (r) => r.server?.cpuUsPerDelivery.redis, digits: 2 },
  { name: 'RSS KiB/conn total', get: (r) => r.server?.rssPerConnectionKiB?.total, digits: 2 },
  { name: 'RSS KiB/conn replicas', get: (r) => r.server?.rssPerConnectionKiB?.replicas, digits: 2 },
  { name: 'RSS KiB/conn nginx', get: (r) => r.server?.rssPerConnectionKiB?.nginx, digits: 2 },
  { name: 'RSS KiB/conn redis', get: (r) => r.server?.rssPerConnectionKiB?.redis, digits: 2 },
  { name: 'connect p50 ms', get: (r) => r.connect.socket.p50, digits: 2 },
  { name: 'connect p99 ms', get: (r) => r.connect.socket.p99, digits: 2 },
  { name: 'generator CPU %', get: (r) => r.generator.cpuPercent, digits: 1 },
  { name: 'generator lag p99 ms', get: (r) => r.generator.lagP99, digits: 2 },
  { name: 'other processes (cores)', get: (r) => r.machine?.otherCores, digits: 2 },
];

function sum(o: Record<string, number>): number {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

const fmt = (v: number | undefined, digits: number): string =>
  v === undefined ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

/** b / a, or undefined when it means nothing. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || a === 0) return undefined;
  return b / a;
}

export interface Column {
  label: string;
  result: Result;
}

/** Rows of [metric, value per column..., ratio per column after the first...]. */
export function compareRows(cols: Column[]): string[][] {
  const header = ['metric', ...cols.map((c) => c.label), ...cols.slice(1).map((c) => `${c.label} / ${cols[0]!.label}`)];
  const rows = [header];
  for (const m of metrics) {
    const values = cols.map((c) => m.get(c.result));
    if (values.every((v) => v === undefined)) continue;
    if (values.every((v) => v === 0) && /lost|duplicated|order|error/.test(m.name) === false) continue;
    rows.push([
      m.name,
      ...values.map((v) => fmt(v, m.digits)),
      ...values.slice(1).map((v) => {
        const q = ratio(values[0], v);
        return q === undefined ? '–' : `${q.toFixed(2)}×`;
      }),
    ]);
  }
  rows.push(['pass', ...cols.map((c) => (c.result.pass ? 'yes' : 'NO'))]);
  return rows;
}

export function formatTable(rows: string[][], markdown = false): string {
  if (markdown) {
    const line = (r: string[]): string => `| ${r.join(' | ')} |`;
    return [line(rows[0]!), line(rows[0]!.map(() => '---')), ...rows.slice(1).map(line)].join('\n');
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/** Median of each metric over several results (compare-peer rounds). */
export function medianResult(results: Result[]): Result {
  const base = structuredClone(results[0]!);
  const med = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  };
  const setMedian = <T extends object>(pick: (r: Result) => T | undefined): void => {
    const target = pick(base);
    if (!target) return;
    for (const key of Object.keys(target) as Array<keyof T>) {
      const xs = results.map((r) => pick(r)?.[key]).filter((v): v is T[keyof T] & number => typeof v === 'number');
      if (xs.length === results.length) (target as Record<keyof T, unknown>)[key] = med(xs);
    }
  };
  setMedian((r) => r.totals);
  setMedian((r) => r.latency);
  setMedian((r) => r.generator);
  setMedian((r) => r.connect.socket);
  setMedian((r) => r.server?.cpuUsPerDelivery);
  setMedian((r) => r.server?.rssPerConnectionKiB);
  // Loss and duplicates are never "typical": report the worst round.
  base.totals.lost = Math.max(...results.map((r) => r.totals.lost));
  base.totals.duplicated = Math.max(...results.map((r) => r.totals.duplicated));
  base.totals.outOfOrder = Math.max(...results.map((r) => r.totals.outOfOrder));
  base.pass = results.every((r) => r.pass);
  return base;
}

/** The lines a scenario prints when it ends. */
export function summaryLines(r: Result): string[] {
  const t = r.totals;
  const L = r.latency;
  const lines = [`== ${r.label} ==`];
  if (t.sent > 0) {
    lines.push(
      `  clients            ${t.connected}/${t.clients} connected (${Object.entries(t.byNode).map(([n, k]) => `${n}=${k}`).join(' ')})`,
      `  messages           offered ${fmt(t.offeredRate, 1)}/s (asked ${String(r.config.rate)}), delivered (acked) ${fmt(t.ackedRate, 1)} msgs/s`,
      `  deliveries         ${fmt(t.deliveriesPerSec, 0)}/s`,
      `  latency e2e        p50 ${fmt(L.p50, 2)} ms  p90 ${fmt(L.p90, 2)} ms  p99 ${fmt(L.p99, 2)} ms  p99.9 ${fmt(L.p999, 2)} ms  max ${fmt(L.max, 2)} ms`,
      `  lost ${t.lost}  duplicated ${t.duplicated}  out of order ${t.outOfOrder}  (of ${t.expectedDeliveries} expected deliveries; ${t.failed} sends refused, ${t.unknown} unknown)`,
    );
  } else {
    lines.push(
      `  sockets            ${t.connected}/${t.clients} open (${Object.entries(t.byNode).map(([n, k]) => `${n}=${k}`).join(' ')})`,
      `  connect            socket p50 ${fmt(r.connect.socket.p50, 2)} ms  p99 ${fmt(r.connect.socket.p99, 2)} ms  max ${fmt(r.connect.socket.max, 2)} ms; join p50 ${fmt(r.connect.join.p50, 2)} ms  p99 ${fmt(r.connect.join.p99, 2)} ms`,
    );
  }
  if (r.server) {
    const groups = Object.keys(r.server.rssAfterKiB);
    if (t.sent > 0) {
      lines.push(`  server CPU/deliv.  ${groups.map((g) => `${g} ${fmt(r.server!.cpuUsPerDelivery[g], 2)} µs`).join('  ')}`);
    }
    if (r.server.rssPerConnectionKiB) {
      lines.push(`  RSS/connection     ${groups.map((g) => `${g} ${fmt(r.server!.rssPerConnectionKiB![g], 2)} KiB`).join('  ')}`);
    }
  }
  const errs = Object.entries(t.errors);
  if (errs.length) lines.push(`  error frames       ${errs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const cerrs = Object.entries(t.connectErrors);
  if (cerrs.length) lines.push(`  connect errors     ${cerrs.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (t.reconnects) lines.push(`  reconnects         ${t.reconnects} (truncated resumes ${t.truncatedResumes})`);
  lines.push(
    `  load generator     CPU ${fmt(r.generator.cpuPercent, 1)}%  event loop p99 ${fmt(r.generator.lagP99, 2)} ms` +
      (r.machine ? `   (machine busy ${fmt(r.machine.busyCores, 2)} cores, softirq ${fmt(r.machine.softirqCores, 2)}, others ${fmt(r.machine.otherCores, 2)})` : ''),
  );
  lines.push(`  verdict            ${r.pass ? 'PASS' : 'FAIL'}`);
  for (const w of r.warnings) lines.push(`  ! ${w}`);
  return lines;
}
