/**
 * The once-a-second heartbeat of a run: turns cumulative counters into the
 * per-second time series, watches the load generator itself (event loop
 * delay, CPU) and the servers (ProcMeter), and drives the progress display.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { ProcMeter } from './procstat.js';
import type { Progress, ProgressInfo } from './progress.js';
import type { Phase, RunEvent, SeriesPoint } from './result.js';
import type { LatencyRecorder } from './stats.js';

export interface Cumulative {
  sent: number;
  acked: number;
  delivered: number;
  errors: number;
  connections: number;
}

const nsToMs = (ns: number): number => Math.round(ns / 1e3) / 1e3;

/** Sampling period of the event loop delay monitors, ms. */
const LAG_RESOLUTION_MS = 5;

/**
 * Event loop delay at a percentile, ms. The histogram records the interval
 * between the monitor's timer runs, so the resolution itself is subtracted.
 */
export function lagMs(h: IntervalHistogram, percentile: number | 'max'): number {
  if (!h.count) return 0;
  const ns = percentile === 'max' ? h.max : h.percentile(percentile);
  return Math.max(0, nsToMs(ns) - LAG_RESOLUTION_MS);
}

export class Monitor {
  readonly series: SeriesPoint[] = [];
  readonly events: RunEvent[] = [];
  phase: Phase = 'connect';
  private readonly t0 = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private last: Cumulative;
  private lastAt = performance.now();
  private lastCpu = process.cpuUsage();
  private lastServerCpu: number | undefined;
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  /** Event loop delay over the measured window only. */
  readonly windowLag: IntervalHistogram = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });

  constructor(
    private readonly collect: () => Cumulative,
    private readonly latency: LatencyRecorder,
    private readonly meter: ProcMeter | undefined,
    private readonly progress: Progress,
    private readonly info: () => ProgressInfo,
  ) {
    this.last = collect();
    this.lastServerCpu = meter ? totalCpu(meter.snapshot()) : undefined;
  }

  start(): void {
    this.lag.enable();
    this.timer = setInterval(() => this.tick(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.lag.disable();
    this.windowLag.disable();
    this.progress.done();
  }

  elapsed(): number {
    return (performance.now() - this.t0) / 1000;
  }

  setPhase(phase: Phase): void {
    this.phase = phase;
    this.mark(`${phase} starts`);
  }

  mark(what: string): void {
    const t = Math.round(this.elapsed() * 10) / 10;
    this.events.push({ t, what });
    this.progress.log(`  [${t.toFixed(1)} s] ${what}`);
  }

  private tick(): void {
    const now = performance.now();
    const dt = (now - this.lastAt) / 1000;
    this.lastAt = now;
    const cur = this.collect();
    const per = (k: keyof Cumulative): number => Math.round((cur[k] - this.last[k]) / dt);
    const cpu = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const lat = this.latency.takeInterval();
    const point: SeriesPoint = {
      t: Math.round(this.elapsed() * 10) / 10,
      phase: this.phase,
      connections: cur.connections,
      sent: per('sent'),
      acked: per('acked'),
      delivered: per('delivered'),
      errors: per('errors'),
      p50: lat.p50,
      p99: lat.p99,
      max: lat.max,
      lagP99: lagMs(this.lag, 99),
      genCpu: Math.round(((cpu.user + cpu.system) / 1e4 / dt) * 10) / 10,
    };
    this.lag.reset();
    if (this.meter) {
      const sample = this.meter.poll();
      const total = totalCpu(sample);
      point.serverCpu = Math.round(((total - (this.lastServerCpu ?? total)) / dt) * 1000) / 10;
      point.serverRssMiB = Math.round(Object.values(sample).reduce((s, g) => s + g.rssKiB, 0) / 102.4) / 10;
      this.lastServerCpu = total;
    }
    this.last = cur;
    this.series.push(point);
    this.progress.update(point, this.info());
  }
}

function totalCpu(sample: Record<string, { cpuSec: number }>): number {
  return Object.values(sample).reduce((s, g) => s + g.cpuSec, 0);
}
