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

/**
 * Resolves when `problem` resolves undefined (nothing wrong any more). On
 * timeout the error ends with what the last check found wrong, so a topology
 * that never settles says why ("7001: replication link down").
 */
export async function waitUntilNoProblem(
  problem: () => Promise<string | undefined>,
  opts: Omit<WaitOptions, 'intervalMs'> & { intervalMs?: number },
): Promise<void> {
  let last = 'not checked yet';
  try {
    await waitUntil(
      async () => {
        try {
          const found = await problem();
          last = found ?? '';
          return found === undefined;
        } catch (error) {
          last = (error as Error).message;
          return false;
        }
      },
      { intervalMs: 100, ...opts },
    );
  } catch (error) {
    throw new Error(`${(error as Error).message}: ${last}`);
  }
}
