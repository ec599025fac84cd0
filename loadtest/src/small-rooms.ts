/**
 * The accounting of `small-rooms`: many rooms of a few members (DMs, small
 * groups), where a message is only a handful of deliveries, so whatever a
 * replica spends per connection or per second rather than per message shows.
 * Every figure is CPU per *published message* (a send acknowledged in the
 * measured window): each replica's, each Redis master's (shard's), and the
 * single-Redis ceiling that implies.
 *
 * Shards are told apart by Redis Cluster's hash slots: a room's keys and
 * channel carry the hash tag `{room}`, so the room lives on the master that
 * serves the slot of its name. Sends go round-robin over the rooms, so a
 * shard's share of the messages is its share of the rooms.
 */
import type { Result } from './result.js';
import type { RedisShard } from './target.js';

export const CLUSTER_SLOTS = 16384;

/** A shard may deviate this much (±, in %) from the shards' mean CPU per message. */
export const BALANCE_TOLERANCE_PCT = 20;

/** CRC16-CCITT (XModem: polynomial 0x1021, initial 0), the hash of Redis Cluster's key slots. */
export function crc16(data: Uint8Array): number {
  let crc = 0;
  for (const byte of data) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The slot of a key, as Redis computes it: only the first non-empty `{…}` is hashed when there is one. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(Buffer.from(key)) % CLUSTER_SLOTS;
}

/** Roomcast's pub/sub channel of a room (server/src/redis/keys.ts): its slot is the room's. */
export function roomChannel(room: string): string {
  return `rc:{${room}}`;
}

/** The shard serving a slot. */
export function shardOfSlot(slot: number, shards: readonly RedisShard[]): RedisShard | undefined {
  return shards.find((s) => s.slots.some(([from, to]) => slot >= from && slot <= to));
}

/** How many of `rooms` each shard holds (by the slot of the room's channel). */
export function roomsPerShard(rooms: readonly string[], shards: readonly RedisShard[]): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(shards.map((s) => [s.name, 0]));
  for (const room of rooms) {
    const shard = shardOfSlot(keySlot(roomChannel(room)), shards);
    if (shard) counts[shard.name]! += 1;
  }
  return counts;
}

export interface ShardFigures {
  name: string;
  port: number;
  /** Rooms whose slot this shard serves, and their share of all rooms (= its share of the messages). */
  rooms: number;
  roomShare: number;
  /** The shard's CPU divided by every published message. */
  usPerMessage: number;
  /** The shard's CPU divided by the messages of its own rooms. */
  usPerOwnMessage: number;
  /** (usPerMessage − mean) / mean, in %. */
  deviationPct: number;
}

export interface SmallRoomsFigures {
  /** Messages sent in the window and acknowledged (stored and published). */
  published: number;
  durationSec: number;
  publishedPerSec: number;
  /** Message frames received in the window per published message. */
  deliveriesPerMessage: number;
  /** µs of CPU per published message, by group (replicas, nginx, redis masters, Redis Cluster replicas) and total. */
  usPerMessage: Record<string, number>;
  /** Each replica's µs per published message. */
  replicas: Array<{ name: string; usPerMessage: number }>;
  shards: ShardFigures[];
  /** Whether every shard is within ±tolerance of the shards' mean CPU per message. */
  balance: { meanUsPerMessage: number; maxDeviationPct: number; tolerancePct: number; withinTolerance: boolean };
  /**
   * What this CPU per message implies for one Redis core: published messages
   * per second one master could carry (1 s of CPU / its µs per own message),
   * the worst shard's figure when there are several. An extrapolation from
   * this rate: it also divides Redis's fixed per-second work (its cron, the
   * cluster bus) among the messages.
   */
  ceiling: { messagesPerSecPerRedisCore: number; allShardsMessagesPerSec: number };
}

const r2 = (n: number): number => Math.round(n * 100) / 100;

/**
 * Per published message figures of a run whose target listed its processes
 * (`server.processes`) and Redis shards. `rooms`: the run's room names.
 * Undefined when the run measured no processes or published nothing.
 */
export function smallRoomsFigures(result: Pick<Result, 'server' | 'totals' | 'config'>, shards: readonly RedisShard[], rooms: readonly string[]): SmallRoomsFigures | undefined {
  const processes = result.server?.processes;
  const published = result.totals.windowAcked;
  if (!processes || published <= 0) return undefined;
  const durationSec = Number(result.config.durationSec) || 0;
  const us = (cpuSec: number): number => r2((cpuSec * 1e6) / published);

  const byGroup: Record<string, number> = {};
  for (const p of processes) byGroup[p.group] = (byGroup[p.group] ?? 0) + p.cpuSec;
  const usPerMessage: Record<string, number> = {};
  let total = 0;
  for (const [group, cpuSec] of Object.entries(byGroup)) {
    usPerMessage[group] = us(cpuSec);
    total += cpuSec;
  }
  usPerMessage.total = us(total);

  const counts = roomsPerShard(rooms, shards);
  const roomTotal = rooms.length || 1;
  const shardRows = shards.map((s) => {
    const cpuSec = processes.find((p) => p.name === s.name)?.cpuSec ?? 0;
    const own = (published * (counts[s.name] ?? 0)) / roomTotal;
    return {
      name: s.name,
      port: s.port,
      rooms: counts[s.name] ?? 0,
      roomShare: r2((counts[s.name] ?? 0) / roomTotal),
      usPerMessage: us(cpuSec),
      usPerOwnMessage: own > 0 ? r2((cpuSec * 1e6) / own) : 0,
      deviationPct: 0,
    };
  });
  const mean = shardRows.length ? shardRows.reduce((a, s) => a + s.usPerMessage, 0) / shardRows.length : 0;
  for (const s of shardRows) s.deviationPct = mean > 0 ? r2(((s.usPerMessage - mean) / mean) * 100) : 0;
  const maxDeviationPct = shardRows.reduce((m, s) => Math.max(m, Math.abs(s.deviationPct)), 0);
  const worstOwn = shardRows.reduce((m, s) => Math.max(m, s.usPerOwnMessage), 0);
  const perCore = worstOwn > 0 ? Math.round(1e6 / worstOwn) : 0;

  return {
    published,
    durationSec,
    publishedPerSec: durationSec > 0 ? r2(published / durationSec) : 0,
    deliveriesPerMessage: r2(result.totals.windowDeliveries / published),
    usPerMessage,
    replicas: processes.filter((p) => p.group === 'replicas').map((p) => ({ name: p.name, usPerMessage: us(p.cpuSec) })),
    shards: shardRows,
    balance: { meanUsPerMessage: r2(mean), maxDeviationPct, tolerancePct: BALANCE_TOLERANCE_PCT, withinTolerance: maxDeviationPct <= BALANCE_TOLERANCE_PCT },
    ceiling: { messagesPerSecPerRedisCore: perCore, allShardsMessagesPerSec: perCore * shardRows.length },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * The median of each figure over several runs of one variant (alternating
 * rounds). Replicas and shards are matched by name (n1…, s1… in slot order);
 * the balance is recomputed from the median shards.
 */
export function medianFigures(runs: readonly SmallRoomsFigures[]): SmallRoomsFigures {
  if (runs.length === 0) throw new Error('medianFigures: no runs');
  const first = runs[0]!;
  const med = (pick: (f: SmallRoomsFigures) => number | undefined): number => r2(median(runs.map(pick).filter((v): v is number => v !== undefined)));
  const usPerMessage: Record<string, number> = {};
  for (const group of Object.keys(first.usPerMessage)) usPerMessage[group] = med((f) => f.usPerMessage[group]);
  const shards = first.shards.map((s) => {
    const pick = (f: SmallRoomsFigures) => f.shards.find((x) => x.name === s.name);
    return { ...s, usPerMessage: med((f) => pick(f)?.usPerMessage), usPerOwnMessage: med((f) => pick(f)?.usPerOwnMessage), deviationPct: 0 };
  });
  const mean = shards.length ? shards.reduce((a, s) => a + s.usPerMessage, 0) / shards.length : 0;
  for (const s of shards) s.deviationPct = mean > 0 ? r2(((s.usPerMessage - mean) / mean) * 100) : 0;
  const maxDeviationPct = shards.reduce((m, s) => Math.max(m, Math.abs(s.deviationPct)), 0);
  const perCore = Math.round(median(runs.map((f) => f.ceiling.messagesPerSecPerRedisCore)));
  return {
    published: med((f) => f.published),
    durationSec: first.durationSec,
    publishedPerSec: med((f) => f.publishedPerSec),
    deliveriesPerMessage: med((f) => f.deliveriesPerMessage),
    usPerMessage,
    replicas: first.replicas.map((x) => ({ name: x.name, usPerMessage: med((f) => f.replicas.find((y) => y.name === x.name)?.usPerMessage) })),
    shards,
    balance: { meanUsPerMessage: r2(mean), maxDeviationPct, tolerancePct: first.balance.tolerancePct, withinTolerance: maxDeviationPct <= first.balance.tolerancePct },
    ceiling: { messagesPerSecPerRedisCore: perCore, allShardsMessagesPerSec: perCore * shards.length },
  };
}

const f1 = (n: number | undefined): string => (n === undefined ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: 1 }));

/** What a small-rooms run prints under the usual summary. */
export function smallRoomsLines(f: SmallRoomsFigures): string[] {
  const groups = Object.entries(f.usPerMessage)
    .filter(([g]) => g !== 'total')
    .map(([g, v]) => `${g} ${f1(v)}`);
  const lines = [
    `  per message        ${f.published} published (${f1(f.publishedPerSec)}/s), ${f1(f.deliveriesPerMessage)} deliveries each`,
    `  CPU µs/message     ${groups.join('  ')}  total ${f1(f.usPerMessage.total)}`,
    `  replicas µs/msg    ${f.replicas.map((r) => `${r.name} ${f1(r.usPerMessage)}`).join('  ')}`,
    `  redis shards       ${f.shards.map((s) => `${s.name} (:${s.port}, ${s.rooms} rooms) ${f1(s.usPerMessage)} µs/msg ${s.deviationPct >= 0 ? '+' : ''}${f1(s.deviationPct)} %`).join('  ')}`,
    `  shard balance      max deviation ${f1(f.balance.maxDeviationPct)} % of the mean (tolerance ±${f.balance.tolerancePct} %): ${f.balance.withinTolerance ? 'even' : 'UNEVEN'}`,
    `  Redis ceiling      ≈ ${f.ceiling.messagesPerSecPerRedisCore.toLocaleString('en-US')} published msgs/s per Redis core` +
      (f.shards.length > 1 ? ` (worst shard; ${f.ceiling.allShardsMessagesPerSec.toLocaleString('en-US')} over ${f.shards.length} shards)` : ''),
  ];
  return lines;
}

/** Rows comparing variants (columns) by CPU per published message. */
export function smallRoomsRows(cols: Array<{ label: string; figures: SmallRoomsFigures }>): string[][] {
  const rows = [['µs CPU per published message', ...cols.map((c) => c.label)]];
  const groups = [...new Set(cols.flatMap((c) => Object.keys(c.figures.usPerMessage)))].filter((g) => g !== 'total');
  const order = ['replicas', 'nginx', 'redis', 'redis-replicas'];
  groups.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
  for (const g of groups) rows.push([g === 'redis' ? 'redis (masters)' : g, ...cols.map((c) => f1(c.figures.usPerMessage[g]))]);
  rows.push(['total', ...cols.map((c) => f1(c.figures.usPerMessage.total))]);
  const replicaNames = [...new Set(cols.flatMap((c) => c.figures.replicas.map((r) => r.name)))];
  for (const n of replicaNames) rows.push([`replica ${n}`, ...cols.map((c) => f1(c.figures.replicas.find((r) => r.name === n)?.usPerMessage))]);
  const shardNames = [...new Set(cols.flatMap((c) => c.figures.shards.map((s) => s.name)))];
  for (const n of shardNames) {
    rows.push([
      `shard ${n} (rooms; deviation)`,
      ...cols.map((c) => {
        const s = c.figures.shards.find((x) => x.name === n);
        return s ? `${f1(s.usPerMessage)} (${s.rooms}; ${s.deviationPct >= 0 ? '+' : ''}${f1(s.deviationPct)} %)` : '–';
      }),
    ]);
  }
  rows.push(['published msgs/s', ...cols.map((c) => f1(c.figures.publishedPerSec))]);
  rows.push(['deliveries per message', ...cols.map((c) => f1(c.figures.deliveriesPerMessage))]);
  rows.push(['msgs/s per Redis core (worst shard)', ...cols.map((c) => c.figures.ceiling.messagesPerSecPerRedisCore.toLocaleString('en-US'))]);
  return rows;
}
