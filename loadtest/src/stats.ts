/**
 * Latency statistics on HDR histograms: one for the whole measured window, one
 * per reporting interval (reset every second), values in microseconds.
 */
import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/** Percentiles every result reports, in milliseconds. */
export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

/** One point of the percentile spectrum: `percentile` in 0..100, `ms` the latency at it. */
export interface SpectrumPoint {
  percentile: number;
  ms: number;
}

export function newHistogram(): Histogram {
  // 3 significant digits, auto-resizing: a stalled server can produce minutes of latency.
  return hdr.build({ bitBucketSize: 32, numberOfSignificantValueDigits: 3, autoResize: true, lowestDiscernibleValue: 1 });
}

const usToMs = (us: number): number => Math.round(us) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, min: 0, mean: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  // A percentile reads the top of its bucket, which can lie above the true max.
  const at = (p: number): number => usToMs(Math.min(h.getValueAtPercentile(p), h.maxValue));
  return {
    count: h.totalCount,
    min: usToMs(h.minNonZeroValue),
    mean: usToMs(h.mean),
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: usToMs(h.maxValue),
  };
}

/**
 * The percentile spectrum (as HdrHistogram plots it): points closer together
 * towards the tail, 1 - 10^(-k/4) for k = 0..24, plus the max.
 */
export function spectrum(h: Histogram): SpectrumPoint[] {
  if (h.totalCount === 0) return [];
  const points: SpectrumPoint[] = [];
  for (let k = 0; k <= 24; k++) {
    const percentile = 100 * (1 - Math.pow(10, -k / 4));
    // A percentile reads the top of its bucket, which can lie above the true max.
    const us = Math.min(h.getValueAtPercentile(percentile), h.maxValue);
    points.push({ percentile: Math.round(percentile * 10000) / 10000, ms: usToMs(us) });
  }
  points.push({ percentile: 100, ms: usToMs(h.maxValue) });
  return points;
}

export function encodeHistogram(h: Histogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

/** Records end-to-end latencies into the window histogram and the interval one. */
export class LatencyRecorder {
  readonly total = newHistogram();
  private interval = newHistogram();

  /** `us` is a latency in microseconds; negatives (clock skew) count as 0. */
  record(us: number, inWindow: boolean): void {
    const v = us < 1 ? 1 : Math.round(us);
    this.interval.recordValue(v);
    if (inWindow) this.total.recordValue(v);
  }

  /** Summary of the interval since the last call, then starts a new interval. */
  takeInterval(): LatencySummary {
    const s = summarize(this.interval);
    this.interval.reset();
    return s;
  }
}
