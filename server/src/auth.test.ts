import { SignJWT, UnsecuredJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forgeries, TestIdentityProvider, type SigningKey } from '../test/support/idp.js';
import { Auth, bearerToken, type AuthSettings } from './auth.js';
import { until } from './broker/broker.contract.js';
import { ChatError } from './errors.js';

const SECRET = 'test-secret-of-at-least-thirty-two-bytes!';
const key = new TextEncoder().encode(SECRET);
const alice = { id: Auth.userIdFor('alice'), name: 'alice' };
const shared = (ttl = 60): Auth => new Auth({ jwtSecret: SECRET, tokenTtlSeconds: ttl });

async function refusal(auth: Auth, token: string | undefined | null): Promise<ChatError> {
  try {
    await auth.verify(token);
  } catch (err) {
    expect(err).toBeInstanceOf(ChatError);
    return err as ChatError;
  }
  throw new Error('token was accepted');
}

/** An HS256 token as any backend holding the secret mints it. */
function mint(claims: { sub?: string; name?: unknown; exp?: number; [claim: string]: unknown }, signingKey = key): Promise<string> {
  const { sub, exp, ...rest } = claims;
  const jwt = new SignJWT(rest).setProtectedHeader({ alg: 'HS256' });
  if (sub !== undefined) jwt.setSubject(sub);
  if (exp !== undefined) jwt.setExpirationTime(exp);
  return jwt.sign(signingKey);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

describe('Auth with the shared secret (HS256)', () => {
  it('verifies the tokens it issues', async () => {
    const auth = shared(3600);
    const before = Date.now();
    const identity = await auth.verify(await auth.issue(alice));
    expect(identity).toMatchObject({ user: alice, admin: false });
    expect(identity.rooms).toBeUndefined();
    // exp is in whole seconds.
    expect(identity.expiresAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(identity.expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000);
  });

  it('issues HS256 tokens with sub, name and exp that another replica with the secret accepts', async () => {
    const token = await shared().issue(alice);
    const payload = decodeJwt(token);
    expect(decodeProtectedHeader(token).alg).toBe('HS256');
    expect(payload).toMatchObject({ sub: alice.id, name: 'alice' });
    expect(typeof payload.exp).toBe('number');
    expect((await shared(1).verify(token)).user).toEqual(alice);
  });

  it('accepts tokens minted by any backend holding the secret', async () => {
    const token = await mint({ sub: 'backend-user-7', name: 'Bot', exp: nowSeconds() + 60 });
    expect((await shared().verify(token)).user).toEqual({ id: 'backend-user-7', name: 'Bot' });
  });

  it('reads the admin and rooms claims of backend tokens', async () => {
    const exp = nowSeconds() + 60;
    const moderator = await shared().verify(await mint({ sub: 'mod', name: 'Mod', exp, admin: true, rooms: ['support-*', 'lobby'] }));
    expect(moderator).toMatchObject({ admin: true, rooms: ['support-*', 'lobby'] });
    const plain = await shared().verify(await mint({ sub: 'u', name: 'U', exp, admin: 'true' }));
    expect(plain.admin).toBe(false);
  });

  it('normalizes the name claim like a guest login', async () => {
    const token = await mint({ sub: 'u1', name: ' ａｌｉｃｅ ', exp: nowSeconds() + 60 });
    expect((await shared().verify(token)).user).toEqual({ id: 'u1', name: 'alice' });
  });

  it('refuses missing, expired, forged and malformed tokens with unauthorized', async () => {
    const auth = shared();
    const forged = await mint({ sub: alice.id, name: 'alice', exp: nowSeconds() + 60 }, new TextEncoder().encode('x'.repeat(40)));
    const expired = await mint({ sub: alice.id, name: 'alice', exp: nowSeconds() - 10 });
    const unsigned = new UnsecuredJWT({ name: 'alice' }).setSubject(alice.id).setExpirationTime('1h').encode();
    const valid = await auth.issue(alice);
    const tampered = valid.slice(0, valid.lastIndexOf('.')) + '.' + 'A'.repeat(43);
    const cases: Array<[string | undefined | null, string]> = [
      [undefined, 'missing token'],
      [null, 'missing token'],
      ['', 'missing token'],
      ['garbage', 'invalid token'],
      ['a.b.c', 'invalid token'],
      [forged, 'invalid token'],
      [expired, 'token expired'],
      [unsigned, 'token algorithm not accepted'],
      [tampered, 'invalid token'],
    ];
    for (const [token, message] of cases) {
      const err = await refusal(auth, token);
      expect({ code: err.code, message: err.message }, String(token)).toEqual({ code: 'unauthorized', message });
    }
  });

  it('refuses tokens missing sub, exp or name, or whose sub or name is unusable', async () => {
    const auth = shared();
    const exp = nowSeconds() + 60;
    const cases: Array<[Parameters<typeof mint>[0], string]> = [
      [{ name: 'a', exp }, 'token has no sub claim'],
      [{ sub: 'u', exp }, 'token has no name claim'],
      [{ sub: 'u', name: '', exp }, 'token name claim is not accepted: name is blank'],
      [{ sub: 'u', name: 5, exp }, 'token name claim is not accepted: name must be a string'],
      [{ sub: 'u', name: 'a' }, 'token has no exp claim'],
      [{ sub: 'u', name: 'a\u2060b', exp }, 'token name claim is not accepted: name contains an invisible character U+2060'],
      [{ sub: 'a\tb', name: 'a', exp }, 'token sub claim contains a control or invisible character'],
      [{ sub: 'a\u200bb', name: 'a', exp }, 'token sub claim contains a control or invisible character'],
      [{ sub: 'x'.repeat(129), name: 'a', exp }, 'token sub claim is longer than 128 characters'],
    ];
    for (const [claims, message] of cases) {
      expect((await refusal(auth, await mint(claims))).message, JSON.stringify(claims)).toBe(message);
    }
    expect((await auth.verify(await mint({ sub: 'x'.repeat(128), name: 'a', exp }))).user.id).toBe('x'.repeat(128));
  });

  it('refuses tokens signed with a JWKS algorithm when no AUTH_JWKS_URL is set', async () => {
    const idp = await TestIdentityProvider.start();
    try {
      const rs = await TestIdentityProvider.key('RS256');
      idp.serve([rs]);
      expect((await refusal(shared(), await idp.mint(rs, { name: 'x' }))).message).toBe('token algorithm not accepted');
      expect(idp.requests).toBe(0);
    } finally {
      await idp.close();
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

describe('Auth with a JSON Web Key Set (AUTH_JWKS_URL)', () => {
  let idp: TestIdentityProvider;
  let keys: Record<'RS256' | 'ES256' | 'EdDSA', SigningKey>;
  let settings: AuthSettings;
  let auth: Auth;

  beforeAll(async () => {
    idp = await TestIdentityProvider.start();
    keys = {
      RS256: await TestIdentityProvider.key('RS256'),
      ES256: await TestIdentityProvider.key('ES256'),
      EdDSA: await TestIdentityProvider.key('EdDSA'),
    };
    idp.serve(Object.values(keys));
    settings = { jwtSecret: SECRET, tokenTtlSeconds: 60, authJwksUrl: idp.jwksUrl, authIssuer: idp.issuer, authAudience: idp.audience };
    auth = new Auth(settings);
  });
  afterAll(() => idp?.close());

  it('accepts RS256, ES256 and EdDSA tokens signed by a key of the set', async () => {
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
      const exp = nowSeconds() + 120;
      const identity = await auth.verify(await idp.mint(keys[alg], { sub: `idp|${alg}`, name: `Alice ${alg}`, exp }));
      expect(identity, alg).toEqual({ user: { id: `idp|${alg}`, name: `Alice ${alg}` }, expiresAt: exp * 1000, admin: false });
    }
  });

  it('takes the display name from name, else preferred_username, else sub', async () => {
    const user = async (claims: Record<string, unknown>) => (await auth.verify(await idp.mint(keys.ES256, claims))).user;
    expect(await user({ sub: 's1', name: 'Ann', preferred_username: 'ann42' })).toEqual({ id: 's1', name: 'Ann' });
    expect(await user({ sub: 's2', preferred_username: 'ann42' })).toEqual({ id: 's2', name: 'ann42' });
    expect(await user({ sub: 'auth0|s3' })).toEqual({ id: 'auth0|s3', name: 'auth0|s3' });
    // Normalized like any name: fullwidth letters become plain ones.
    expect(await user({ sub: 's4', name: 'ａｌｉｃｅ' })).toEqual({ id: 's4', name: 'alice' });
    // A sub too long for a display name is refused when it has to be one.
    const longSub = 'x'.repeat(40);
    expect((await refusal(auth, await idp.mint(keys.ES256, { sub: longSub }))).message).toBe(
      'token sub claim is not accepted: name is longer than 32 characters',
    );
  });

  it('reads admin: true as an admin token, anything else as not', async () => {
    const admin = async (value: unknown) => (await auth.verify(await idp.mint(keys.EdDSA, { admin: value }))).admin;
    expect(await admin(true)).toBe(true);
    for (const value of [false, 'true', 1, undefined, null]) expect(await admin(value), String(value)).toBe(false);
  });

  it('reads the rooms claim: room names and prefixes ending in *', async () => {
    const rooms = async (value: unknown) => (await auth.verify(await idp.mint(keys.RS256, { rooms: value }))).rooms;
    expect(await rooms(['support-*', 'lobby'])).toEqual(['support-*', 'lobby']);
    expect(await rooms([])).toEqual([]);
    expect(await rooms(undefined)).toBeUndefined();
    for (const bad of ['lobby', [5], ['*'], ['a**'], ['Lobby'], ['a b'], ['support-*-x'], [''], { lobby: true }, null]) {
      const err = await refusal(auth, await idp.mint(keys.RS256, { rooms: bad }));
      expect(err.message, JSON.stringify(bad)).toBe('invalid token: the rooms claim must be a list of room names or prefixes ending in *');
    }
  });

  it('refuses every forged or unacceptable token, saying why and never quoting it', async () => {
    for (const forgery of await forgeries(idp, keys.RS256, SECRET)) {
      const err = await refusal(auth, forgery.token);
      expect({ code: err.code, message: err.message }, forgery.what).toEqual({ code: 'unauthorized', message: forgery.message });
      expect(err.message).not.toContain(forgery.token.split('.')[1]);
    }
  });

  it('tolerates a few seconds of clock difference, no more', async () => {
    const accepted = await auth.verify(await idp.mint(keys.ES256, { exp: nowSeconds() - 1, nbf: nowSeconds() + 1 }));
    expect(accepted.user.id).toBe('idp|alice');
    expect((await refusal(auth, await idp.mint(keys.ES256, { exp: nowSeconds() - 30 }))).message).toBe('token expired');
    expect((await refusal(auth, await idp.mint(keys.ES256, { nbf: nowSeconds() + 30 }))).message).toBe('token not yet valid');
  });

  it('keeps accepting HS256 tokens from the shared secret, without issuer or audience', async () => {
    expect((await auth.verify(await auth.issue(alice))).user).toEqual(alice);
    const backend = await mint({ sub: 'backend-1', name: 'Backend', exp: nowSeconds() + 60 });
    expect((await auth.verify(backend)).user).toEqual({ id: 'backend-1', name: 'Backend' });
  });

  it('accepts any issuer and audience when AUTH_ISSUER and AUTH_AUDIENCE are unset', async () => {
    const open = new Auth({ ...settings, authIssuer: undefined, authAudience: undefined });
    const token = await idp.mint(keys.RS256, { iss: 'https://other.example/', aud: 'whatever' });
    expect((await open.verify(token)).user.id).toBe('idp|alice');
  });

  it('fetches the set once, and an unknown kid refetches it at most once per 30 s', async () => {
    const fresh = new Auth(settings);
    const before = idp.requests;
    for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) await fresh.verify(await idp.mint(keys[alg]));
    expect(idp.requests - before).toBe(1);
    // A key added to the set just now: within the cooldown it is not fetched.
    const added = await TestIdentityProvider.key('ES256');
    idp.serve([...Object.values(keys), added]);
    try {
      for (let i = 0; i < 3; i++) {
        expect((await refusal(fresh, await idp.mint(added))).message).toBe('token signed with an unknown key');
      }
      expect(idp.requests - before).toBe(1);
    } finally {
      idp.serve(Object.values(keys));
    }
  });

  it('follows a key rotation: the new key is accepted after a refetch, the removed one refused', async () => {
    const rotating = await TestIdentityProvider.start();
    try {
      const oldKey = await TestIdentityProvider.key('RS256', 'rotation-old');
      const newKey = await TestIdentityProvider.key('EdDSA', 'rotation-new');
      rotating.serve([oldKey]);
      const rotated = new Auth({ ...settings, authJwksUrl: rotating.jwksUrl }, { jwksCooldownMs: 200 });
      const oldToken = await rotating.mint(oldKey, { sub: 'old' });
      const newToken = await rotating.mint(newKey, { sub: 'new' });
      expect((await rotated.verify(oldToken)).user.id).toBe('old');
      expect(rotating.requests).toBe(1);

      rotating.serve([newKey]);
      // Refused while the cooldown holds, accepted by the first try after it, which refetches.
      await until(async () => (await rotated.verify(newToken).catch(() => undefined))?.user.id === 'new', 5000, 'the new key to be accepted');
      expect(rotating.requests).toBe(2);
      // The set in hand no longer has the old key.
      expect((await refusal(rotated, oldToken)).message).toBe('token signed with an unknown key');
    } finally {
      await rotating.close();
    }
  });

  it('refuses identity-provider tokens when the set cannot be fetched, and warns once, not per token', async () => {
    const warnings: string[] = [];
    const unreachable = new Auth(
      { ...settings, authJwksUrl: idp.jwksUrl.replace('/jwks.json', '/missing.json') },
      { log: { warn: (_details, message) => warnings.push(message) } },
    );
    for (let i = 0; i < 3; i++) {
      expect((await refusal(unreachable, await idp.mint(keys.RS256))).message).toBe('token signing keys could not be fetched');
    }
    expect(warnings).toEqual(['cannot fetch the key set at AUTH_JWKS_URL: identity provider tokens are refused']);
    // The shared secret does not depend on the provider.
    expect((await unreachable.verify(await unreachable.issue(alice))).user).toEqual(alice);
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
