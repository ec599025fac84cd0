import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const options = { baseMs: 500, maxMs: 10_000 };

  it('doubles the window per attempt up to the cap', () => {
    const top = () => 0.999999;
    expect([1, 2, 3, 4, 5, 6, 50].map((n) => backoffDelay(n, options, top))).toEqual([499, 999, 1999, 3999, 7999, 9999, 9999]);
  });

  it('uses the whole window (full jitter)', () => {
    expect(backoffDelay(4, options, () => 0)).toBe(0);
    expect(backoffDelay(4, options, () => 0.25)).toBe(1000);
  });
});
