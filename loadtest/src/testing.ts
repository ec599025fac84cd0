/** A plausible result for tests of the report and the compare table. */
import { zeroTotals, type Result } from './result.js';

export function sampleResult(): Result {
  const series = Array.from({ length: 12 }, (_, i) => ({
    t: i + 1,
    phase: (i < 2 ? 'warmup' : i < 10 ? 'measure' : 'drain') as Result['series'][number]['phase'],
    connections: 500,
    sent: 500,
    acked: 500,
    delivered: 25_000,
    errors: 0,
    p50: 2 + (i % 3) * 0.1,
    p99: 8 + (i % 4),
    max: 20,
    lagP99: 1,
    genCpu: 40,
    serverCpu: 90,
    serverRssMiB: 300,
  }));
  const lat = { count: 200_000, min: 0.3, mean: 2.5, p50: 2, p90: 5, p99: 9, p999: 15, max: 30 };
  return {
    kind: 'roomcast-loadtest',
    version: 1,
    scenario: 'fanout',
    stack: 'roomcast',
    label: 'sample <run>',
    startedAt: '2026-01-01T00:00:00.000Z',
    config: { rate: 500, rooms: 10, clientsPerRoom: 50 },
    target: { url: 'http://127.0.0.1:1', launched: true },
    environment: { node: 'v20', platform: 'Linux', cpus: 2, cpuModel: 'cpu', memGiB: 24, hostname: 'h', loadavg: [1, 1, 1] },
    totals: {
      ...zeroTotals(),
      clients: 500,
      connected: 500,
      byNode: { n1: 167, n2: 167, n3: 166 },
      frames: { presence: 10 },
      sent: 5000,
      acked: 5000,
      windowSent: 4000,
      windowAcked: 4000,
      offeredRate: 500,
      ackedRate: 500,
      windowDeliveries: 200_000,
      deliveriesPerSec: 25_000,
      deliveries: 250_000,
      expectedDeliveries: 250_000,
    },
    latency: { ...lat, spectrum: [{ percentile: 0, ms: 0.3 }, { percentile: 50, ms: 2 }, { percentile: 99, ms: 9 }, { percentile: 100, ms: 30 }], histogram: '' },
    connect: { login: lat, socket: lat, join: lat },
    server: {
      cpuSec: { replicas: 3, nginx: 0.7, redis: 0.3, total: 4 },
      cpuUsPerDelivery: { replicas: 15, nginx: 3.5, redis: 1.5, total: 20 },
      rssBeforeKiB: { replicas: 200_000, nginx: 10_000, redis: 8000, total: 218_000 },
      rssAfterKiB: { replicas: 250_000, nginx: 15_000, redis: 9000, total: 274_000 },
    },
    generator: { cpuPercent: 40, lagP50: 0.5, lagP99: 2, lagMax: 5 },
    machine: { busyCores: 1.4, otherCores: 0.02 },
    series,
    events: [{ t: 6, what: 'kill -9 n2' }],
    warnings: ['a <warning>'],
    pass: true,
  };
}
