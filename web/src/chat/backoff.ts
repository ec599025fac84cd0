/**
 * Reconnect delays: exponential backoff with "full jitter" (a uniformly random
 * delay between 0 and the exponential cap), so that the clients of a crashed
 * replica do not all come back to the survivors in the same instant.
 */
export interface BackoffOptions {
  /** Cap of the first retry, in ms. */
  baseMs: number;
  /** Largest cap, in ms. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 15_000 };

/** Delay before retry number `attempt` (1-based); `random` returns [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number): number {
  const exponent = Math.max(0, attempt - 1);
  const cap = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  return Math.floor(random() * cap);
}
