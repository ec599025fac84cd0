import { describe, expect, it } from 'vitest';
import { TokenBucket } from './rate-limit.js';

function takeMany(bucket: TokenBucket, count: number, now: number): number {
  let granted = 0;
  for (let i = 0; i < count; i++) if (bucket.take(now)) granted++;
  return granted;
}

describe('TokenBucket', () => {
  it('starts full: grants the burst at once, then refuses', () => {
    const bucket = new TokenBucket(10, 30, 0);
    expect(takeMany(bucket, 30, 0)).toBe(30);
    expect(bucket.take(0)).toBe(false);
  });

  it('refills at the given rate', () => {
    const bucket = new TokenBucket(10, 30, 0);
    takeMany(bucket, 30, 0);
    expect(bucket.take(50)).toBe(false); // half a token
    expect(bucket.take(100)).toBe(true); // 0.5 + 0.5 = one token
    expect(bucket.take(100)).toBe(false);
    expect(takeMany(bucket, 10, 1100)).toBe(10); // 10 per second
    expect(bucket.take(1100)).toBe(false);
  });

  it('never holds more than the burst', () => {
    const bucket = new TokenBucket(10, 30, 0);
    expect(takeMany(bucket, 100, 3_600_000)).toBe(30);
  });

  it('sustains its rate and no more over a long run', () => {
    const bucket = new TokenBucket(10, 1, 0);
    let granted = 0;
    // One attempt every 10 ms for 10 s: 1 (initial) + 100 refilled.
    for (let t = 0; t <= 10_000; t += 10) if (bucket.take(t)) granted++;
    expect(granted).toBe(101);
  });

  it('supports fractional rates', () => {
    const bucket = new TokenBucket(0.5, 1, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(1999)).toBe(false);
    expect(bucket.take(2000)).toBe(true);
  });

  it('does not take a token when refusing', () => {
    const bucket = new TokenBucket(1, 2, 0);
    takeMany(bucket, 2, 0);
    for (let i = 0; i < 50; i++) expect(bucket.take(500)).toBe(false);
    expect(bucket.take(1000)).toBe(true);
  });
});
