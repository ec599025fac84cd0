import { describe, expect, it } from 'vitest';
import { CLUSTER_SLOTS, crc16, keySlot, medianFigures, roomChannel, roomsPerShard, smallRoomsFigures, smallRoomsRows } from './small-rooms.js';
import type { ProcessCost, Result } from './result.js';
import { zeroTotals } from './result.js';
import type { RedisShard } from './target.js';

describe('key slots', () => {
  it('hashes with CRC16-XModem, as Redis Cluster does', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
    expect(crc16(Buffer.from(''))).toBe(0);
  });

  // Expected slots are what redis-server 7.0 answers to CLUSTER KEYSLOT.
  it('gives the slots Redis gives', () => {
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('héllo')).toBe(11061);
  });

  it('hashes only the first non-empty hash tag', () => {
    expect(keySlot('{user1000}.following')).toBe(keySlot('{user1000}.followers'));
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(keySlot('foo{{bar}}zap')).toBe(keySlot('{bar'));
    // An empty first tag: the whole key is hashed.
    expect(keySlot('foo{}{bar}')).toBe(8363);
    expect(keySlot('{bar')).toBe(4015);
  });

  it("puts a room's channel in the slot of the room's name", () => {
    expect(roomChannel('lt-ab12cd34-0')).toBe('rc:{lt-ab12cd34-0}');
    expect(keySlot(roomChannel('lt-ab12cd34-0'))).toBe(14907);
    expect(keySlot(roomChannel('lt-ab12cd34-0'))).toBe(keySlot('lt-ab12cd34-0'));
  });
});

/** The three masters of a fresh `redis-cli --cluster create` with 3 masters. */
const threeShards: RedisShard[] = [
  { name: 's1', port: 7001, slots: [[0, 5460]] },
  { name: 's2', port: 7002, slots: [[5461, 10922]] },
  { name: 's3', port: 7003, slots: [[10923, 16383]] },
];
const oneShard: RedisShard[] = [{ name: 's1', port: 7000, slots: [[0, CLUSTER_SLOTS - 1]] }];

describe('roomsPerShard', () => {
  it('counts every room once, on the shard serving its slot', () => {
    const rooms = Array.from({ length: 2000 }, (_, i) => `lt-feedbeef-${i}`);
    const counts = roomsPerShard(rooms, threeShards);
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(2000);
    for (const n of Object.values(counts)) expect(Math.abs(n - 2000 / 3)).toBeLessThan(100);
    expect(roomsPerShard(rooms, oneShard)).toEqual({ s1: 2000 });
  });

  it('follows split slot ranges', () => {
    const slot = keySlot('lt-x-1');
    const shards: RedisShard[] = [
      { name: 's1', port: 1, slots: [[0, slot - 1], [slot + 1, CLUSTER_SLOTS - 1]] },
      { name: 's2', port: 2, slots: [[slot, slot]] },
    ];
    expect(roomsPerShard(['lt-x-1'], shards)).toEqual({ s1: 0, s2: 1 });
  });
});

/** A run's result with these processes' CPU in a 20 s window in which `published` messages were acked. */
function run(processes: Array<[name: string, group: string, cpuSec: number]>, published: number, deliveries = published * 3): Pick<Result, 'server' | 'totals' | 'config'> {
  const list: ProcessCost[] = processes.map(([name, group, cpuSec]) => ({ name, group, cpuSec, cpuUsPerDelivery: 0 }));
  return {
    totals: { ...zeroTotals(), windowAcked: published, windowDeliveries: deliveries },
    config: { durationSec: 20 },
    server: { cpuSec: {}, cpuUsPerDelivery: {}, rssBeforeKiB: {}, rssAfterKiB: {}, processes: list },
  };
}

/** Rooms split exactly 1:1:1 over the three shards (the first rooms whose slot falls in each). */
function evenRooms(perShard: number): string[] {
  const picked: Record<string, string[]> = { s1: [], s2: [], s3: [] };
  for (let i = 0; Object.values(picked).some((l) => l.length < perShard); i++) {
    const name = `room-${i}`;
    const slot = keySlot(roomChannel(name));
    const shard = threeShards.find((s) => slot >= s.slots[0]![0] && slot <= s.slots[0]![1])!;
    if (picked[shard.name]!.length < perShard) picked[shard.name]!.push(name);
  }
  return Object.values(picked).flat();
}

describe('smallRoomsFigures', () => {
  it('divides each process and each group by the published messages', () => {
    // 20 000 messages: 1 s of CPU is 50 µs per message.
    const f = smallRoomsFigures(
      run([['n1', 'replicas', 1], ['n2', 'replicas', 2], ['nginx', 'nginx', 0.5], ['s1', 'redis', 0.4]], 20_000),
      oneShard,
      ['a', 'b'],
    )!;
    expect(f.published).toBe(20_000);
    expect(f.publishedPerSec).toBe(1000);
    expect(f.deliveriesPerMessage).toBe(3);
    expect(f.usPerMessage).toEqual({ replicas: 150, nginx: 25, redis: 20, total: 195 });
    expect(f.replicas).toEqual([{ name: 'n1', usPerMessage: 50 }, { name: 'n2', usPerMessage: 100 }]);
    expect(f.shards).toEqual([{ name: 's1', port: 7000, rooms: 2, roomShare: 1, usPerMessage: 20, usPerOwnMessage: 20, deviationPct: 0 }]);
    expect(f.balance.withinTolerance).toBe(true);
    // 20 µs of Redis per message: 50 000 messages per second per core.
    expect(f.ceiling).toEqual({ messagesPerSecPerRedisCore: 50_000, allShardsMessagesPerSec: 50_000 });
  });

  it('splits Redis by shard, with each shard’s deviation from the mean and its cost per own message', () => {
    const rooms = evenRooms(10);
    const f = smallRoomsFigures(
      run([['n1', 'replicas', 3], ['s1', 'redis', 0.2], ['s2', 'redis', 0.2], ['s3', 'redis', 0.26], ['r7004', 'redis-replicas', 0.1]], 20_000),
      threeShards,
      rooms,
    )!;
    expect(f.usPerMessage.redis).toBe(33);
    expect(f.usPerMessage['redis-replicas']).toBe(5);
    expect(f.shards.map((s) => [s.name, s.rooms, s.usPerMessage])).toEqual([['s1', 10, 10], ['s2', 10, 10], ['s3', 10, 13]]);
    // Mean 11 µs: s3 is 18.18 % above it, within ±20 %.
    expect(f.shards.map((s) => s.deviationPct)).toEqual([-9.09, -9.09, 18.18]);
    expect(f.balance).toEqual({ meanUsPerMessage: 11, maxDeviationPct: 18.18, tolerancePct: 20, withinTolerance: true });
    // Each shard carries a third of the messages: s3 spends 39 µs on each of its own.
    expect(f.shards[2]!.usPerOwnMessage).toBe(39);
    // The ceiling is the worst shard's: 1 s / 39 µs.
    expect(f.ceiling.messagesPerSecPerRedisCore).toBe(25_641);
    expect(f.ceiling.allShardsMessagesPerSec).toBe(3 * 25_641);
  });

  it('flags a shard outside ±20 % of the mean', () => {
    const f = smallRoomsFigures(run([['s1', 'redis', 0.1], ['s2', 'redis', 0.2], ['s3', 'redis', 0.3]], 10_000), threeShards, evenRooms(2))!;
    expect(f.balance.maxDeviationPct).toBe(50);
    expect(f.balance.withinTolerance).toBe(false);
  });

  it('has nothing to say without processes or published messages', () => {
    expect(smallRoomsFigures(run([['n1', 'replicas', 1]], 0), oneShard, ['a'])).toBeUndefined();
    const noProcesses = run([], 100);
    delete noProcesses.server!.processes;
    expect(smallRoomsFigures(noProcesses, oneShard, ['a'])).toBeUndefined();
  });
});

describe('medianFigures', () => {
  it('takes the median of each figure by name and recomputes the balance', () => {
    const rooms = evenRooms(5);
    const runs = [
      [1, 0.1, 0.1, 0.1],
      [3, 0.1, 0.2, 0.1],
      [2, 0.3, 0.1, 0.1],
    ].map(([n1, s1, s2, s3]) => smallRoomsFigures(run([['n1', 'replicas', n1!], ['s1', 'redis', s1!], ['s2', 'redis', s2!], ['s3', 'redis', s3!]], 10_000), threeShards, rooms)!);
    const m = medianFigures(runs);
    expect(m.usPerMessage.replicas).toBe(200);
    expect(m.replicas).toEqual([{ name: 'n1', usPerMessage: 200 }]);
    expect(m.shards.map((s) => s.usPerMessage)).toEqual([10, 10, 10]);
    expect(m.balance.maxDeviationPct).toBe(0);
    expect(m.balance.withinTolerance).toBe(true);
  });

  it('refuses an empty list', () => {
    expect(() => medianFigures([])).toThrow();
  });
});

describe('smallRoomsRows', () => {
  it('puts variants side by side, groups in a fixed order', () => {
    const single = smallRoomsFigures(run([['n1', 'replicas', 2], ['nginx', 'nginx', 1], ['s1', 'redis', 0.5]], 10_000), oneShard, ['a'])!;
    const cluster = smallRoomsFigures(run([['n1', 'replicas', 2], ['nginx', 'nginx', 1], ['s1', 'redis', 0.2], ['s2', 'redis', 0.2], ['s3', 'redis', 0.2], ['r1', 'redis-replicas', 0.1]], 10_000), threeShards, evenRooms(1))!;
    const rows = smallRoomsRows([{ label: 'single', figures: single }, { label: 'cluster', figures: cluster }]);
    expect(rows[0]).toEqual(['µs CPU per published message', 'single', 'cluster']);
    expect(rows.slice(1, 6).map((r) => r[0])).toEqual(['replicas', 'nginx', 'redis (masters)', 'redis-replicas', 'total']);
    expect(rows[1]).toEqual(['replicas', '200', '200']);
    expect(rows[4]).toEqual(['redis-replicas', '–', '10']);
    expect(rows.find((r) => r[0] === 'shard s2 (rooms; deviation)')).toEqual(['shard s2 (rooms; deviation)', '–', '20 (1; +0 %)']);
  });
});
