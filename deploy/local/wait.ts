/**
 * Waiting for external processes to become ready: poll a condition until a
 * deadline. Polling is the only option for a process we did not write (redis,
 * nginx), and the deadline turns a hang into an error with context.
 */
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  /** What we are waiting for, for the error message. */
  what: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Returns an error to stop waiting at once (e.g. the process exited). */
  abort?: () => Error | undefined;
}

/** Resolves when `check` resolves true; rejects on timeout or abort. */
export async function waitUntil(check: () => Promise<boolean>, opts: WaitOptions): Promise<void> {
  const { what, timeoutMs = 15_000, intervalMs = 50 } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw aborted;
    if (await check().catch(() => false)) return;
    const stopped = opts.abort?.();
    if (stopped) throw stopped;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}
