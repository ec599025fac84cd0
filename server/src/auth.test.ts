import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { Auth, bearerToken } from './auth.js';
import { ChatError } from './errors.js';

const SECRET = 'test-secret-of-at-least-thirty-two-bytes!';
const key = new TextEncoder().encode(SECRET);
const alice = { id: Auth.userIdFor('alice'), name: 'alice' };

async function refusal(auth: Auth, token: string | undefined | null): Promise<ChatError> {
  try {
    await auth.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(ChatError);
    return err as ChatError;
  }
  throw new Error('token was accepted');
}

function mint(claims: { sub?: string; name?: unknown; exp?: number }, signingKey = key): Promise<string> {
  const jwt = new SignJWT(claims.name === undefined ? {} : { name: claims.name }).setProtectedHeader({ alg: 'HS256' });
  if (claims.sub !== undefined) jwt.setSubject(claims.sub);
  if (claims.exp !== undefined) jwt.setExpirationTime(claims.exp);
  return jwt.sign(signingKey);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Auth', () => {
  it('verifies the tokens it issues', async () => {
    const auth = new Auth(SECRET, 3600);
    const before = Date.now();
    const identity = await auth.verify(await auth.issue(alice));
    expect(identity.user).toEqual(alice);
    // exp is in whole seconds.
    expect(identity.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(identity.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it('issues HS256 tokens with sub, name and exp that another replica with the secret accepts', async () => {
    const token = await new Auth(SECRET, 60).issue(alice);
    const payload = decodeJwt(token);
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: alice.id, name: 'alice' });
    expect(typeof payload.exp).toBe('number');
    expect((await new Auth(SECRET, 1).verify(token)).user).toEqual(alice);
  });

  it('accepts tokens minted by any backend holding the secret', async () => {
    const token = await mint({ sub: 'backend-user-7', name: 'Bot', exp: nowSeconds() + 60 });
    expect((await new Auth(SECRET, 60).verify(token)).user).toEqual({ id: 'backend-user-7', name: 'Bot' });
  });

  it('refuses missing, expired, forged and malformed tokens with unauthorized', async () => {
    const auth = new Auth(SECRET, 60);
    const forged = await mint({ sub: alice.id, name: 'alice', exp: nowSeconds() + 60 }, new TextEncoder().encode('x'.repeat(40)));
    const expired = await mint({ sub: alice.id, name: 'alice', exp: nowSeconds() - 10 });
    const unsigned = new UnsecuredJWT({ name: 'alice' }).setSubject(alice.id).setExpirationTime('1h').encode();
    const valid = await auth.issue(alice);
    const tampered = valid.slice(0, valid.lastIndexOf('.')) + '.' + 'A'.repeat(43);
    for (const token of [undefined, null, '', 'garbage', 'a.b.c', forged, expired, unsigned, tampered]) {
      expect((await refusal(auth, token)).code, String(token)).toBe('unauthorized');
    }
  });

  it('refuses tokens missing sub, exp or name', async () => {
    const auth = new Auth(SECRET, 60);
    const exp = nowSeconds() + 60;
    for (const claims of [{ name: 'a', exp }, { sub: 'u', exp }, { sub: 'u', name: '', exp }, { sub: 'u', name: 5, exp }, { sub: 'u', name: 'a' }]) {
      expect((await refusal(auth, await mint(claims))).code, JSON.stringify(claims)).toBe('unauthorized');
    }
  });

  it('maps a name to the same user id every time, and different names to different ids', () => {
    expect(Auth.userIdFor('alice')).toBe(Auth.userIdFor('alice'));
    expect(Auth.userIdFor('alice')).toBe(alice.id);
    expect(Auth.userIdFor('alice')).not.toBe(Auth.userIdFor('Alice'));
    expect(Auth.userIdFor('alice')).not.toBe(Auth.userIdFor('bob'));
    expect(Auth.userIdFor('😀')).toMatch(/^[A-Za-z0-9_-]+$/);
  });
});

describe('bearerToken', () => {
  it('reads Authorization: Bearer <token>', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   xyz')).toBe('xyz');
    expect(bearerToken(undefined)).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken('Basic dXNlcjpwYXNz')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
  });
});
