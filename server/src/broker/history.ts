/**
 * History is trimmed in batches: a room keeps at least `maxLen` messages and
 * is cut back to exactly `maxLen` once it passes `maxLen + maxLen/10`, so the
 * cost of trimming is spread over many publishes.
 *
 * Returns how many of the oldest messages to drop now.
 */
export function trimBatch(length: number, maxLen: number): number {
  const slack = Math.floor(maxLen / 10);
  return length > maxLen + slack ? length - maxLen : 0;
}

export function trimSlack(maxLen: number): number {
  return Math.floor(maxLen / 10);
}
