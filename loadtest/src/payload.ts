/**
 * The text a load-test message carries: `lt:<run>:<seq>:<sentAtUs>` then
 * padding. `run` tells this run's messages from any other traffic in the
 * room, `seq` numbers the message within its room (see accounting.ts) and
 * `sentAtUs` is the sender's clock in microseconds since the epoch, so a
 * receiver computes end-to-end latency as now - sentAtUs.
 */

/** Wall clock in microseconds, finer than Date.now(). */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function encodeText(run: string, seq: number, sentAtUs: number, size = 0): string {
  const text = `lt:${run}:${seq}:${sentAtUs}`;
  return text.length >= size ? text : text + ' ' + 'x'.repeat(size - text.length - 1);
}

export interface Decoded {
  seq: number;
  sentAtUs: number;
}

/** Parses a text made by encodeText for `run`; undefined for anything else. */
export function decodeText(text: string, run: string): Decoded | undefined {
  // prefix = "lt:" + run + ":"
  if (!text.startsWith('lt:') || !text.startsWith(run, 3) || text.charCodeAt(3 + run.length) !== 58) return undefined;
  const start = 4 + run.length;
  const colon = text.indexOf(':', start);
  if (colon < 0) return undefined;
  let end = text.indexOf(' ', colon);
  if (end < 0) end = text.length;
  const seq = Number(text.slice(start, colon));
  const sentAtUs = Number(text.slice(colon + 1, end));
  if (!Number.isInteger(seq) || seq < 0 || !Number.isFinite(sentAtUs)) return undefined;
  return { seq, sentAtUs };
}
