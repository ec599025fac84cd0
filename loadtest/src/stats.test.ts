import { describe, expect, it } from 'vitest';
import { compareRows, formatTable, medianResult, ratio } from './compare.js';
import { parsePrometheus } from './metrics.js';
import { decodeText, encodeText } from './payload.js';
import { parsePids, parseRssKiB, parseStat } from './procstat.js';
import { LatencyRecorder, newHistogram, spectrum, summarize } from './stats.js';
import { niceTicks } from './svg.js';
import { sampleResult } from './testing.js';

describe('latency statistics', () => {
  it('gives percentiles of 1..1000 ms within the histogram precision', () => {
    const h = newHistogram();
    for (let ms = 1; ms <= 1000; ms++) h.recordValue(ms * 1000);
    const s = summarize(h);
    expect(s.count).toBe(1000);
    expect(s.p50).toBeCloseTo(500, -1);
    expect(s.p90).toBeCloseTo(900, -1);
    expect(s.p99).toBeCloseTo(990, -1);
    expect(s.p999).toBeCloseTo(999, -1);
    expect(s.max).toBeCloseTo(1000, -1);
    expect(s.min).toBe(1);
  });

  it('keeps the window histogram apart from the per-second one', () => {
    const rec = new LatencyRecorder();
    rec.record(2000, false); // warm-up: interval only
    rec.record(4000, true);
    expect(rec.total.totalCount).toBe(1);
    expect(rec.takeInterval().count).toBe(2);
    expect(rec.takeInterval().count).toBe(0);
  });

  it('draws a monotonic percentile spectrum ending at the max', () => {
    const h = newHistogram();
    for (let i = 1; i <= 10_000; i++) h.recordValue(i);
    const sp = spectrum(h);
    expect(sp[0]!.percentile).toBe(0);
    expect(sp[sp.length - 1]).toEqual({ percentile: 100, ms: 10 });
    for (let i = 1; i < sp.length; i++) expect(sp[i]!.ms).toBeGreaterThanOrEqual(sp[i - 1]!.ms);
  });
});

describe('message text', () => {
  it('round-trips seq and timestamp, with padding', () => {
    const text = encodeText('ab12', 42, 1_700_000_000_123_456, 100);
    expect(text).toHaveLength(100);
    expect(decodeText(text, 'ab12')).toEqual({ seq: 42, sentAtUs: 1_700_000_000_123_456 });
    expect(decodeText(encodeText('ab12', 0, 5), 'ab12')).toEqual({ seq: 0, sentAtUs: 5 });
  });

  it('ignores other runs and other text', () => {
    expect(decodeText(encodeText('ab12', 1, 5), 'ab1')).toBeUndefined();
    expect(decodeText('hello', 'ab12')).toBeUndefined();
    expect(decodeText('lt:ab12:x:5', 'ab12')).toBeUndefined();
  });
});

describe('/proc and /metrics parsing', () => {
  it('reads ppid and utime+stime even when the command has spaces and parens', () => {
    const stat = '1234 (my (odd) proc) S 99 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0';
    expect(parseStat(stat)).toEqual({ ppid: 99, ticks: 300 });
  });

  it('reads VmRSS', () => {
    expect(parseRssKiB('Name:\tnode\nVmRSS:\t  51234 kB\nVmSwap: 0 kB\n')).toBe(51234);
  });

  it('parses --pids with and without labels', () => {
    expect(parsePids('10,11')).toEqual({ server: [10, 11] });
    expect(parsePids('replicas:1,replicas:2,nginx:3')).toEqual({ replicas: [1, 2], nginx: [3] });
    expect(() => parsePids('x')).toThrow(/not a pid/);
  });

  it('sums Prometheus samples by name', () => {
    const text = '# HELP x\nprocess_resident_memory_bytes 100\nroomcast_connections{node="a"} 3\nroomcast_connections{node="b"} 4\nother 9\n';
    expect(parsePrometheus(text)).toEqual({ process_resident_memory_bytes: 100, roomcast_connections: 7 });
  });
});

describe('compare', () => {
  it('puts results side by side with ratios to the first', () => {
    const a = sampleResult();
    const b = sampleResult();
    b.latency.p99 = a.latency.p99 * 2;
    b.server!.cpuUsPerDelivery.total = 10;
    const rows = compareRows([
      { label: 'a', result: a },
      { label: 'b', result: b },
    ]);
    const p99 = rows.find((r) => r[0] === 'latency p99 ms')!;
    expect(p99[3]).toBe('2.00×');
    const cpu = rows.find((r) => r[0] === 'CPU µs/delivery total')!;
    expect(cpu.slice(1)).toEqual(['20', '10', '0.50×']);
    expect(formatTable(rows, true).split('\n')[1]).toMatch(/^\| --- \|/);
    expect(ratio(0, 5)).toBeUndefined();
  });

  it('takes medians, but the worst loss', () => {
    const rs = [sampleResult(), sampleResult(), sampleResult()];
    rs[0]!.latency.p99 = 1;
    rs[1]!.latency.p99 = 9;
    rs[2]!.latency.p99 = 5;
    rs[1]!.totals.lost = 3;
    rs[1]!.pass = false;
    const m = medianResult(rs);
    expect(m.latency.p99).toBe(5);
    expect(m.totals.lost).toBe(3);
    expect(m.pass).toBe(false);
  });
});

describe('chart ticks', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
  });
});
