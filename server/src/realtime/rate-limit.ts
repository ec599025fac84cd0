/**
 * A token bucket: `burst` tokens, refilled at `perSecond`. Two numbers per
 * socket, no timers: the refill is computed when a token is taken.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    now = performance.now(),
  ) {
    this.tokens = burst;
    this.updatedAt = now;
  }

  take(now = performance.now()): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    this.updatedAt = now;
    // Tolerance: ten refills of 0.1 add up to 0.9999999999999999, not 1.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Milliseconds until a token will be there (0: one is there now). */
  wait(now = performance.now()): number {
    const tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000);
    return tokens >= 1 - 1e-9 ? 0 : ((1 - tokens) * 1000) / this.perSecond;
  }

  /** True when the bucket has refilled completely (an idle key). */
  isFull(now = performance.now()): boolean {
    return this.tokens + ((now - this.updatedAt) * this.perSecond) / 1000 >= this.burst;
  }
}
