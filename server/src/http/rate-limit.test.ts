/**
 * The HTTP rate limiters: one small suite for MemoryRateLimiter and
 * RedisRateLimiter (real redis-server), then what only Redis gives: one
 * bucket shared by every replica, and buckets that expire.
 *
 * Timing is asserted only as "immediately after a burst" (with a rate so slow
 * that no token can come back meanwhile); refill is polled for, with a fast rate.
 */
import { startRedis, type RedisHandle } from '@roomcast/deploy/local';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../broker/broker.contract.js';
import { connectServer, waitReady } from '../redis/connect.js';
import { RedisKeys } from '../redis/keys.js';
import { MemoryRateLimiter, RedisRateLimiter, type Rate, type RateLimiter } from './rate-limit.js';

type LimiterFactory = (rate: Rate) => Promise<RateLimiter>;

/** One token per 100 s: nothing refills during a test. */
const SLOW: Rate = { perSecond: 0.01, burst: 5 };

async function takeMany(limiter: RateLimiter, key: string, count: number): Promise<boolean[]> {
  const results: boolean[] = [];
  for (let i = 0; i < count; i++) results.push((await limiter.take(key)) === 0);
  return results;
}

function rateLimiterSuite(name: string, factory: LimiterFactory): void {
  describe(`RateLimiter: ${name}`, () => {
    it('grants a burst of `burst` takes, then refuses the next', async () => {
      const limiter = await factory(SLOW);
      expect(await takeMany(limiter, 'u1', SLOW.burst)).toEqual(Array(SLOW.burst).fill(true));
      expect(await takeMany(limiter, 'u1', 2)).toEqual([false, false]);
    });

    it('says how long until the next token: one token at the rate, less what has refilled', async () => {
      const limiter = await factory(SLOW);
      await takeMany(limiter, 'waiter', SLOW.burst);
      const wait = await limiter.take('waiter');
      // 100 s per token at 0.01/s; a test runs for well under a second of it.
      expect(wait).toBeGreaterThan(99_000);
      expect(wait).toBeLessThanOrEqual(100_000);
    });

    it('keeps keys apart: an empty bucket does not limit another key', async () => {
      const limiter = await factory(SLOW);
      await takeMany(limiter, 'spender', SLOW.burst);
      expect(await takeMany(limiter, 'spender', 1)).toEqual([false]);
      expect(await takeMany(limiter, 'saver', SLOW.burst + 1)).toEqual([...Array(SLOW.burst).fill(true), false]);
    });

    it('refills an empty bucket over time', async () => {
      const limiter = await factory({ perSecond: 50, burst: 2 });
      // Drain: take until refused (a fast rate refills while we take, so count no exact number).
      let refused = false;
      for (let i = 0; i < 10_000 && !refused; i++) refused = (await limiter.take('refill')) > 0;
      expect(refused).toBe(true);
      await until(async () => (await limiter.take('refill')) === 0, 5000, 'a token to come back');
    });
  });
}

rateLimiterSuite('MemoryRateLimiter', async (rate) => new MemoryRateLimiter(rate));

describe('RedisRateLimiter', () => {
  let redis: RedisHandle;
  const clients: Redis[] = [];
  let prefixes = 0;
  let prefix = '';

  beforeAll(async () => {
    redis = await startRedis({ appendonly: false });
  });
  afterAll(async () => {
    await redis?.stop();
  });
  afterEach(async () => {
    await Promise.allSettled(clients.splice(0).map((client) => client.quit()));
    prefix = '';
  });

  /** A connection of its own, as each replica has. */
  async function connect(): Promise<Redis> {
    const client = connectServer({ mode: 'single', url: redis.url, tls: false }, { commandTimeoutMs: 2000 });
    clients.push(client);
    await waitReady(client, 10_000);
    return client;
  }

  /** Limiters created within one test share a key prefix (as replicas do); tests do not. */
  async function limiter(rate: Rate, client?: Redis): Promise<{ limiter: RedisRateLimiter; keys: RedisKeys; client: Redis }> {
    if (prefix === '') prefix = `rl${++prefixes}`;
    const keys = new RedisKeys(prefix);
    const own = client ?? (await connect());
    return { limiter: new RedisRateLimiter(own, (key) => keys.rateBucket('write', key), rate), keys, client: own };
  }

  rateLimiterSuite('RedisRateLimiter', async (rate) => (await limiter(rate)).limiter);

  it('two limiters on two connections share one bucket per key (every replica sees the same limit)', async () => {
    const a = await limiter(SLOW);
    const b = await limiter(SLOW);
    expect(a.client).not.toBe(b.client);
    expect(await takeMany(a.limiter, 'shared', 3)).toEqual([true, true, true]);
    expect(await takeMany(b.limiter, 'shared', 2)).toEqual([true, true]);
    expect(await takeMany(b.limiter, 'shared', 1)).toEqual([false]);
    expect(await takeMany(a.limiter, 'shared', 1)).toEqual([false]);
  });

  it('the bucket key expires once it would be full again', async () => {
    const { limiter: l, keys, client } = await limiter(SLOW);
    await l.take('idle-later');
    const pttl = await client.pttl(keys.rateBucket('write', 'idle-later'));
    expect(pttl).toBeGreaterThan(0);
    // burst / rate seconds to refill completely, plus a second of slack.
    expect(pttl).toBeLessThanOrEqual(Math.ceil((SLOW.burst / SLOW.perSecond) * 1000) + 1000);
  });
});
