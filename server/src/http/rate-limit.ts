import { ChatError } from '../errors.js';
import { ErrorCode } from '../protocol.js';
import type { RedisClient } from '../redis/connect.js';
import { TokenBucket } from '../realtime/rate-limit.js';

/**
 * A token bucket per key (a user id, a client address), for HTTP writes and
 * the login: the same kind of limit sockets have, kept where every replica
 * sees it when there is Redis, so N replicas do not mean N times the rate.
 */
export interface RateLimiter {
  /**
   * Takes a token for the key: 0 when it may act now, otherwise the
   * milliseconds until it may (nothing was taken).
   */
  take(key: string): Promise<number>;
}

export interface Rate {
  perSecond: number;
  burst: number;
}

/** One process's buckets (the embedded mode). Full buckets are dropped, so idle keys cost nothing. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly rate: Rate) {}

  async take(key: string): Promise<number> {
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= 10_000) this.prune();
      this.buckets.set(key, (bucket = new TokenBucket(this.rate.perSecond, this.rate.burst)));
    }
    return bucket.take() ? 0 : bucket.wait();
  }

  private prune(): void {
    for (const [key, bucket] of this.buckets) if (bucket.isFull()) this.buckets.delete(key);
  }
}

/**
 * The bucket as a Redis hash (tokens, at), refilled on Redis's clock, one
 * key per bucket (single-slot). It expires once it would be full again.
 * KEYS: bucket. ARGV: perSecond, burst. Returns 0 (taken) or the ms to wait.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = math.max(0, tokens - 1)
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
`;

/** Refuses with `429 rate_limited` and a Retry-After when the key has no token. */
export async function takeOrRefuse(limiter: RateLimiter, key: string, message: string): Promise<void> {
  const wait = await limiter.take(key);
  if (wait > 0) throw new ChatError(ErrorCode.rateLimited, message, { retryAfterMs: wait });
}

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    /** Key of a bucket, e.g. `rc:rl:write:{user}`. */
    private readonly keyOf: (key: string) => string,
    private readonly rate: Rate,
  ) {
    const command: string = 'rateTake';
    if (!(command in redis)) redis.defineCommand(command, { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(key: string): Promise<number> {
    return Number(await this.redis.rateTake(this.keyOf(key), String(this.rate.perSecond), String(this.rate.burst)));
  }
}
