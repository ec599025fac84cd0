/**
 * The self-contained HTML report of one result: summary tables and inline SVG
 * charts (latency over time, latency distribution, deliveries/s, connections,
 * server cost), with the result JSON embedded so the file is the data too.
 */
import { writeFile } from 'node:fs/promises';
import type { Result } from './result.js';
import { chartCss, lineChart, type Line } from './svg.js';

const esc = (s: unknown): string =>
  String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const num = (n: number | undefined, digits = 0): string =>
  n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });

function table(rows: Array<[string, string]>, cls = ''): string {
  return `<table class="${cls}">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join('')}</table>`;
}

const codes = (o: Record<string, number>): string =>
  Object.keys(o).length ? Object.entries(o).map(([k, v]) => `${esc(k)}: ${num(v)}`).join(', ') : 'none';

export function renderReport(r: Result): string {
  const t = r.totals;
  const s = r.series;
  const pts = (f: (p: (typeof s)[number]) => number | undefined): Array<[number, number]> =>
    s.flatMap((p) => {
      const v = f(p);
      return v === undefined ? [] : [[p.t, v] as [number, number]];
    });
  const measure = s.filter((p) => p.phase === 'measure');
  const band: [number, number] | undefined = measure.length ? [measure[0]!.t - 1, measure[measure.length - 1]!.t] : undefined;
  const markers = r.events.filter((e) => !e.what.endsWith(' starts')).map((e) => ({ x: e.t, label: e.what }));

  const charts: string[] = [];
  const hasMessages = t.sent > 0;
  if (hasMessages) {
    charts.push(
      lineChart({
        title: 'End-to-end latency per second',
        xLabel: 'seconds',
        yLabel: 'ms',
        band,
        markers,
        lines: [
          { name: 'p50', color: '#2b6cb0', points: pts((p) => (p.delivered ? p.p50 : undefined)) },
          { name: 'p99', color: '#dd6b20', points: pts((p) => (p.delivered ? p.p99 : undefined)) },
          { name: 'max', color: '#999', dashed: true, points: pts((p) => (p.delivered ? p.max : undefined)) },
        ],
      }),
      lineChart({
        title: 'Latency distribution (measured window)',
        xLabel: 'percentile',
        yLabel: 'ms (log)',
        percentileX: true,
        logY: true,
        lines: [{ name: 'latency', color: '#2b6cb0', points: r.latency.spectrum.map((p) => [p.percentile, p.ms] as [number, number]) }],
      }),
      lineChart({
        title: 'Deliveries per second',
        xLabel: 'seconds',
        yLabel: 'deliveries/s',
        band,
        markers,
        lines: [{ name: 'delivered/s', color: '#2f855a', points: pts((p) => p.delivered) }],
      }),
      lineChart({
        title: 'Messages per second',
        xLabel: 'seconds',
        yLabel: 'msgs/s',
        band,
        markers,
        lines: [
          { name: 'sent/s', color: '#805ad5', points: pts((p) => p.sent) },
          { name: 'acked/s', color: '#2f855a', dashed: true, points: pts((p) => p.acked) },
          { name: 'errors/s', color: '#c53030', points: pts((p) => p.errors) },
        ],
      }),
    );
  }
  charts.push(
    lineChart({
      title: 'Open connections',
      xLabel: 'seconds',
      yLabel: 'sockets',
      band,
      markers,
      lines: [{ name: 'connections', color: '#2c7a7b', points: pts((p) => p.connections) }],
    }),
  );
  const cpuLines: Line[] = [{ name: 'load generator CPU %', color: '#718096', points: pts((p) => p.genCpu) }];
  if (s.some((p) => p.serverCpu !== undefined)) cpuLines.unshift({ name: 'server CPU %', color: '#c53030', points: pts((p) => p.serverCpu) });
  charts.push(lineChart({ title: 'CPU (% of one core)', xLabel: 'seconds', yLabel: '%', band, markers, lines: cpuLines }));
  if (s.some((p) => p.serverRssMiB !== undefined)) {
    charts.push(
      lineChart({ title: 'Server memory (RSS)', xLabel: 'seconds', yLabel: 'MiB', band, markers, lines: [{ name: 'RSS', color: '#2b6cb0', points: pts((p) => p.serverRssMiB) }] }),
    );
  }

  const L = r.latency;
  const summary: Array<[string, string]> = [
    ['verdict', r.pass ? '<b class="ok">pass</b> (nothing acknowledged lost or duplicated)' : '<b class="bad">FAIL</b>'],
    ['clients', `${num(t.connected)} connected of ${num(t.clients)} (${codes(t.byNode)})`],
  ];
  if (hasMessages) {
    summary.push(
      ['messages', `offered ${num(t.offeredRate, 1)}/s, acknowledged ${num(t.ackedRate, 1)}/s (asked ${num(Number(r.config.rate))}/s)`],
      ['deliveries', `${num(t.deliveriesPerSec, 1)}/s in the window; ${num(t.deliveries)} in all of ${num(t.expectedDeliveries)} expected`],
      ['latency', `p50 ${num(L.p50, 2)} · p90 ${num(L.p90, 2)} · p99 ${num(L.p99, 2)} · p99.9 ${num(L.p999, 2)} · max ${num(L.max, 2)} ms (${num(L.count)} samples)`],
      ['lost / duplicated / out of order', `${num(t.lost)} / ${num(t.duplicated)} / ${num(t.outOfOrder)}`],
      ['sends', `${num(t.sent)} sent, ${num(t.acked)} acked, ${num(t.failed)} refused, ${num(t.unknown)} unknown (socket lost), ${num(t.skipped)} skipped`],
    );
  }
  summary.push(
    ['error frames', codes(t.errors)],
    ['connect errors', codes(t.connectErrors)],
    ['closes by server/network', codes(t.closes)],
    ['reconnects', `${num(t.reconnects)} (${num(t.truncatedResumes)} with truncated history)`],
    ['connect time', `socket p50 ${num(r.connect.socket.p50, 2)} / p99 ${num(r.connect.socket.p99, 2)} ms; join p50 ${num(r.connect.join.p50, 2)} / p99 ${num(r.connect.join.p99, 2)} ms; login p50 ${num(r.connect.login.p50, 2)} ms`],
    ['load generator', `CPU ${num(r.generator.cpuPercent, 1)}% of a core, event loop delay p99 ${num(r.generator.lagP99, 2)} ms, max ${num(r.generator.lagMax, 2)} ms`],
    ['machine', r.machine ? `${num(r.machine.busyCores, 2)} cores busy in the window (kernel softirq ${num(r.machine.softirqCores, 2)}); other processes ${num(r.machine.otherCores, 2)} cores` : '–'],
  );

  let serverTable = '';
  if (r.server) {
    const groups = Object.keys(r.server.rssAfterKiB);
    const row = (label: string, f: (g: string) => string): string => `<tr><th>${esc(label)}</th>${groups.map((g) => `<td>${f(g)}</td>`).join('')}</tr>`;
    serverTable = `<h2>Server cost</h2><table class="grid"><tr><th></th>${groups.map((g) => `<th>${esc(g)}</th>`).join('')}</tr>
${row('CPU s (window)', (g) => num(r.server!.cpuSec[g], 3))}
${row('CPU µs per delivery', (g) => num(r.server!.cpuUsPerDelivery[g], 2))}
${row('RSS before (MiB)', (g) => num((r.server!.rssBeforeKiB[g] ?? 0) / 1024, 1))}
${row('RSS after (MiB)', (g) => num((r.server!.rssAfterKiB[g] ?? 0) / 1024, 1))}
${r.server.rssPerConnectionKiB ? row('RSS per connection (KiB)', (g) => num(r.server!.rssPerConnectionKiB![g], 2)) : ''}</table>`;
  }

  const events = r.events.length ? `<h2>Events</h2><ul>${r.events.map((e) => `<li>${num(e.t, 1)} s — ${esc(e.what)}</li>`).join('')}</ul>` : '';
  const warnings = r.warnings.length ? `<div class="warn"><b>Warnings</b><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></div>` : '';
  const env = r.environment;
  const config = Object.entries(r.config).filter(([, v]) => v !== undefined).map(([k, v]) => [k, esc(typeof v === 'object' ? JSON.stringify(v) : String(v))] as [string, string]);
  const data = JSON.stringify(r).replace(/</g, '\\u003c');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(r.label)} — Roomcast load test</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;padding:0 16px;color:#222}
h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px} .sub{color:#666}
table{border-collapse:collapse;margin:8px 0} th,td{text-align:left;padding:3px 10px 3px 0;vertical-align:top} th{font-weight:600;color:#444}
table.grid td,table.grid th{border-bottom:1px solid #eee;padding:3px 12px}
.ok{color:#2f855a}.bad{color:#c53030}.warn{background:#fffbea;border:1px solid #f6e05e;padding:8px 12px;border-radius:4px;margin:12px 0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:8px}
details{margin-top:20px}
${chartCss}
</style></head><body>
<h1>${esc(r.label)}</h1>
<div class="sub">${esc(r.scenario)} · ${esc(r.stack)} · ${esc(r.startedAt)} · ${esc(r.target.url)}${r.target.launched ? ' (launched by the tool)' : ''}</div>
${warnings}
<h2>Summary</h2>
${table(summary)}
${serverTable}
<h2>Charts</h2>
<div class="charts">${charts.join('\n')}</div>
${events}
<h2>Configuration</h2>
${table(config)}
<h2>Environment</h2>
${table([
  ['node', esc(env.node)],
  ['machine', `${esc(env.cpus)} × ${esc(env.cpuModel)}, ${esc(env.memGiB)} GiB, ${esc(env.platform)}`],
  ['load average at the end', esc(env.loadavg.join(' '))],
  ['commit', esc(env.gitCommit ?? 'unknown')],
])}
<details><summary>Raw result (JSON)</summary><pre style="white-space:pre-wrap;font-size:11px">${esc(JSON.stringify({ ...r, latency: { ...r.latency, histogram: '…' } }, null, 1))}</pre></details>
<script type="application/json" id="result">${data}</script>
</body></html>
`;
}

export async function writeReport(r: Result, file: string): Promise<string> {
  await writeFile(file, renderReport(r));
  return file;
}
