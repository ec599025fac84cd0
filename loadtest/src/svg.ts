/** Small SVG line charts for the HTML report: no library, no script, readable offline. */

export interface Line {
  name: string;
  color: string;
  points: Array<[number, number]>;
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  lines: Line[];
  xLabel: string;
  yLabel: string;
  /** Vertical markers (events), at x. */
  markers?: Array<{ x: number; label: string }>;
  /** A shaded x range (the measured window). */
  band?: [number, number];
  /** x values are percentiles (0..100) drawn on a log scale of 1/(1-p). */
  percentileX?: boolean;
  /** y on a log scale (latency spectra span orders of magnitude). */
  logY?: boolean;
  width?: number;
  height?: number;
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** 1, 2, 5 × 10^k steps giving about `count` ticks over [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag;
  const ticks: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function fmt(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (Math.abs(v) >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(3)));
}

/** Percentile p (0..100) → "nines" position: 0 at 0 %, 1 at 90 %, 2 at 99 %... */
const nines = (p: number): number => (p >= 100 ? 6 : Math.min(6, -Math.log10(1 - p / 100)));

export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 720;
  const H = o.height ?? 260;
  const L = 64;
  const R = 16;
  const T = 30;
  const B = 42;
  const pw = W - L - R;
  const ph = H - T - B;
  const all = o.lines.flatMap((l) => l.points);
  const body: string[] = [];
  body.push(`<text x="${L}" y="18" class="t">${esc(o.title)}</text>`);
  if (all.length === 0) {
    body.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="n">no data</text>`);
    return wrap(W, H, body);
  }
  const xv = (x: number): number => (o.percentileX ? nines(x) : x);
  const yv = (y: number): number => (o.logY ? Math.log10(Math.max(y, 0.01)) : y);
  const xs = all.map((p) => xv(p[0]));
  const ys = all.map((p) => yv(p[1]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1e-9);
  const y0 = o.logY ? Math.floor(Math.min(...ys)) : 0;
  const y1 = o.logY ? Math.ceil(Math.max(...ys, y0 + 1)) : Math.max(...ys) * 1.08 || 1;
  const sx = (x: number): number => L + ((xv(x) - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => T + ph - ((yv(y) - y0) / (y1 - y0)) * ph;

  if (o.band) {
    const a = sx(Math.max(o.band[0], x0));
    const b = sx(Math.min(o.band[1], x1));
    if (b > a) body.push(`<rect x="${a.toFixed(1)}" y="${T}" width="${(b - a).toFixed(1)}" height="${ph}" class="band"/>`);
  }
  // y grid
  const yTicks = o.logY ? range(y0, y1).map((e) => 10 ** e) : niceTicks(0, y1);
  for (const v of yTicks) {
    const y = sy(v).toFixed(1);
    body.push(`<line x1="${L}" x2="${L + pw}" y1="${y}" y2="${y}" class="g"/><text x="${L - 6}" y="${y}" dy="4" text-anchor="end">${fmt(v)}</text>`);
  }
  // x ticks
  const xTicks = o.percentileX
    ? [0, 90, 99, 99.9, 99.99, 99.999, 100].filter((p) => nines(p) >= x0 - 1e-9 && nines(p) <= x1 + 1e-9)
    : niceTicks(x0, x1, 8);
  for (const v of xTicks) {
    const x = sx(v).toFixed(1);
    const label = o.percentileX ? (v === 100 ? 'max' : `${v}%`) : fmt(v);
    body.push(`<line x1="${x}" x2="${x}" y1="${T + ph}" y2="${T + ph + 4}" class="a"/><text x="${x}" y="${T + ph + 16}" text-anchor="middle">${label}</text>`);
  }
  body.push(`<line x1="${L}" x2="${L + pw}" y1="${T + ph}" y2="${T + ph}" class="a"/><line x1="${L}" x2="${L}" y1="${T}" y2="${T + ph}" class="a"/>`);
  body.push(`<text x="${L + pw / 2}" y="${H - 6}" text-anchor="middle" class="n">${esc(o.xLabel)}</text>`);
  body.push(`<text transform="translate(14 ${T + ph / 2}) rotate(-90)" text-anchor="middle" class="n">${esc(o.yLabel)}</text>`);
  for (const m of o.markers ?? []) {
    if (m.x < x0 || m.x > x1) continue;
    const x = sx(m.x).toFixed(1);
    body.push(`<line x1="${x}" x2="${x}" y1="${T}" y2="${T + ph}" class="m"><title>${esc(m.label)}</title></line>`);
  }
  for (const line of o.lines) {
    if (!line.points.length) continue;
    const d = line.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)} ${sy(p[1]).toFixed(1)}`).join('');
    body.push(`<path d="${d}" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
  }
  // legend
  let lx = L + pw;
  for (const line of [...o.lines].reverse()) {
    const w = 18 + line.name.length * 6.5;
    lx -= w + 10;
    body.push(`<rect x="${lx}" y="11" width="12" height="4" fill="${line.color}"/><text x="${lx + 16}" y="17">${esc(line.name)}</text>`);
  }
  return wrap(W, H, body);
}

function range(a: number, b: number): number[] {
  const out: number[] = [];
  for (let i = a; i <= b; i++) out.push(i);
  return out;
}

function wrap(W: number, H: number, body: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">${body.join('')}</svg>`;
}

/** CSS the charts need (put once in the page). */
export const chartCss = `
svg{font:11px system-ui,sans-serif;background:#fff;border:1px solid #ddd;border-radius:4px;margin:6px 0;max-width:100%;height:auto}
svg text{fill:#333} svg .t{font-weight:600;font-size:13px} svg .n{fill:#666}
svg .g{stroke:#eee} svg .a{stroke:#999} svg .m{stroke:#c33;stroke-dasharray:3 3} svg .band{fill:#f1f6ff}`;
