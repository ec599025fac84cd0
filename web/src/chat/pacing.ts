/**
 * A token bucket, the shape of the server's per-socket send limit (contract:
 * at least 10 per second, bursts of 30). The client keeps under it, so that a
 * quick burst of messages is paced rather than refused.
 */
export interface PacingOptions {
  /** Tokens added per second. */
  perSecond: number;
  /** Largest number of tokens (a fresh socket starts full). */
  burst: number;
}

/** Below the contract's minimum (10/s, burst 30), leaving room for a little clock drift. */
export const DEFAULT_PACING: PacingOptions = { perSecond: 8, burst: 20 };

export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    private readonly options: PacingOptions,
    private readonly now: () => number,
  ) {
    this.tokens = options.burst;
    this.at = now();
  }

  /** Takes a token if there is one. */
  take(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is there (0 if one is). */
  wait(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) * 1000) / this.options.perSecond);
  }

  /** A new socket: the server's bucket for it is full. */
  fill(): void {
    this.tokens = this.options.burst;
    this.at = this.now();
  }

  /** The server said we went too fast: its bucket is empty, ours is too. */
  empty(): void {
    this.tokens = 0;
    this.at = this.now();
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.at);
    this.at = now;
    this.tokens = Math.min(this.options.burst, this.tokens + (elapsed * this.options.perSecond) / 1000);
  }
}
