import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../chat/test-support/fakes.js';
import { OidcSignIn, SignInError, providerName } from './oidc.js';
import { fakeProvider, type FakeProvider } from './test-support/fake-provider.js';

const ORIGIN = 'https://chat.example.test';
const CLIENT = 'roomcast-web';

let provider: FakeProvider;
let storage: MemoryStore;
let oidc: OidcSignIn;
const config = () => ({ issuer: provider.issuer, clientId: CLIENT, scope: 'openid profile' });

beforeEach(async () => {
  provider = await fakeProvider();
  storage = new MemoryStore();
  oidc = new OidcSignIn({ fetch: provider.fetch, storage, origin: ORIGIN });
});

/** Begins, lets the provider issue a code, and returns the callback URL it would redirect to. */
async function roundTrip(returnTo = '#/room/lobby'): Promise<{ authorization: URL; callback: string }> {
  const authorization = new URL(await oidc.begin(config(), returnTo));
  const code = provider.issue(authorization.href);
  return { authorization, callback: `${ORIGIN}/auth/callback?code=${code}&state=${authorization.searchParams.get('state')}&iss=${encodeURIComponent(provider.issuer)}` };
}

describe('OidcSignIn', () => {
  it('asks for an authorization code with PKCE S256, state and nonce, coming back to /auth/callback', async () => {
    const url = new URL(await oidc.begin(config(), '#/room/x'));
    expect(url.origin + url.pathname).toBe(`${provider.issuer}/auth`);
    const params = Object.fromEntries(url.searchParams);
    expect(params).toMatchObject({
      client_id: CLIENT,
      redirect_uri: `${ORIGIN}/auth/callback`,
      response_type: 'code',
      scope: 'openid profile',
      code_challenge_method: 'S256',
    });
    for (const key of ['code_challenge', 'state', 'nonce']) expect(params[key]).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    // The verifier stays here (sessionStorage), never in the URL.
    const pending = JSON.parse(storage.getItem('roomcast.oidc.pending')!) as { codeVerifier: string };
    expect(url.href).not.toContain(pending.codeVerifier);
  });

  it('exchanges the code with the verifier and returns the ID token as the bearer token', async () => {
    const { callback } = await roundTrip('#/room/plans');
    const result = await oidc.complete(callback);

    expect(result.user).toEqual({ id: 'ada-1815', name: 'Ada Lovelace' });
    expect(result.returnTo).toBe('#/room/plans');
    expect(result.token.split('.')).toHaveLength(3);
    const [request] = provider.tokenRequests;
    expect(request?.get('redirect_uri')).toBe(`${ORIGIN}/auth/callback`);
    expect(request?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43,}$/);
    expect(request?.get('client_id')).toBe(CLIENT);
    // Used once.
    expect(storage.getItem('roomcast.oidc.pending')).toBeNull();
    await expect(oidc.complete(callback)).rejects.toThrow(/stale/);
  });

  it('refuses a callback whose state is not ours, and forgets the attempt', async () => {
    const { callback } = await roundTrip();
    await expect(oidc.complete(callback.replace(/state=[^&]+/, 'state=forged'))).rejects.toBeInstanceOf(SignInError);
    expect(storage.getItem('roomcast.oidc.pending')).toBeNull();
    expect(provider.tokenRequests).toHaveLength(0);
  });

  it('reports the provider’s refusal', async () => {
    const authorization = new URL(await oidc.begin(config(), ''));
    const state = authorization.searchParams.get('state');
    const error = await oidc.complete(`${ORIGIN}/auth/callback?error=access_denied&error_description=user+said+no&state=${state}&iss=${encodeURIComponent(provider.issuer)}`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SignInError);
    expect((error as Error).message).toContain('user said no');
  });

  it('refuses an ID token with another nonce, or for another audience', async () => {
    provider.claims = { nonce: 'not-the-one-we-sent' };
    await expect(oidc.complete((await roundTrip()).callback)).rejects.toBeInstanceOf(SignInError);
    provider.claims = { aud: 'someone-else' };
    await expect(oidc.complete((await roundTrip()).callback)).rejects.toBeInstanceOf(SignInError);
  });

  it('falls back to preferred_username, then sub, for the name (as the server does)', async () => {
    provider.claims = { name: undefined, preferred_username: 'ada' };
    expect((await oidc.complete((await roundTrip()).callback)).user.name).toBe('ada');
    provider.claims = { name: undefined };
    expect((await oidc.complete((await roundTrip()).callback)).user.name).toBe('ada-1815');
  });

  it('allows plain http only for a provider on this machine', async () => {
    const remote = await fakeProvider('http://login.example.test');
    const insecure = new OidcSignIn({ fetch: remote.fetch, storage, origin: ORIGIN });
    await expect(insecure.begin({ ...config(), issuer: remote.issuer }, '')).rejects.toBeInstanceOf(SignInError);

    const local = await fakeProvider('http://127.0.0.1:9999');
    const dev = new OidcSignIn({ fetch: local.fetch, storage, origin: ORIGIN });
    await expect(dev.begin({ ...config(), issuer: local.issuer }, '')).resolves.toMatch(/^http:\/\/127\.0\.0\.1:9999\/auth\?/);
  });

  it('names the provider by its host', () => {
    expect(providerName('https://login.example.com/realms/x')).toBe('login.example.com');
  });
});
