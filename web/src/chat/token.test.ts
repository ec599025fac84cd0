import { describe, expect, it } from 'vitest';
import { fakeToken } from './test-support/fakes.js';
import { isTokenExpired, tokenExpiry } from './token.js';

describe('token expiry', () => {
  it('reads exp from the JWT payload', () => {
    expect(tokenExpiry(fakeToken(1_800_000_000))).toBe(1_800_000_000_000);
    expect(isTokenExpired(fakeToken(100), 100_000)).toBe(true);
    expect(isTokenExpired(fakeToken(101), 100_000)).toBe(false);
  });

  it('leaves tokens it cannot read to the server', () => {
    expect(tokenExpiry('opaque')).toBeNull();
    expect(isTokenExpired('a.!!!.c', Date.now())).toBe(false);
  });
});
