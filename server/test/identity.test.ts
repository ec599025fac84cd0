/**
 * Identity across the cluster (contract v2, section A): tokens signed by an
 * identity provider's key set (AUTH_JWKS_URL) open sockets and call the API
 * through nginx and on each replica directly; every forged or unacceptable
 * token is refused with 401 on the upgrade and on HTTP; the app backend's
 * HS256 tokens keep working; names are normalized wherever they come from.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoginResponse, MessagesPage } from '../src/protocol.js';
import { TestClient } from './support/client.js';
import { replicaWsUrl, useTestCluster } from './support/cluster.js';
import { request } from './support/http.js';
import { forgeries, TestIdentityProvider, type Forgery, type SigningKey } from './support/idp.js';
import { mintToken, nowSeconds } from './support/tokens.js';

// The provider must be listening before the replicas boot, and its URL is
// known only then: this beforeAll is registered before useTestCluster's, so
// it runs first (and its afterAll last), and fills in the env object that
// the cluster's beforeAll reads when it starts the replicas.
const env: Record<string, string> = {};
let idp: TestIdentityProvider;
let keys: SigningKey[];
beforeAll(async () => {
  idp = await TestIdentityProvider.start();
  keys = await Promise.all([TestIdentityProvider.key('RS256'), TestIdentityProvider.key('ES256'), TestIdentityProvider.key('EdDSA')]);
  idp.serve(keys);
  Object.assign(env, { AUTH_JWKS_URL: idp.jwksUrl, AUTH_ISSUER: idp.issuer, AUTH_AUDIENCE: idp.audience });
});
afterAll(() => idp?.close());

const harness = useTestCluster(env);
const { clients } = harness;

interface EntryPoint {
  label: string;
  wsUrl: string;
  httpUrl: string;
  /** The replica that must hold the socket; undefined through nginx. */
  nodeId?: string;
}

/** nginx, then each replica directly. */
function entryPoints(): EntryPoint[] {
  const { cluster } = harness;
  return [
    { label: 'nginx', wsUrl: cluster.wsUrl, httpUrl: cluster.url },
    ...cluster.replicas.map((replica, i) => ({ label: replica.nodeId, wsUrl: replicaWsUrl(cluster, i), httpUrl: replica.url, nodeId: replica.nodeId })),
  ];
}

interface ErrorBody {
  error: { code: string; message: string };
}

async function connect(entry: EntryPoint, token: string): Promise<TestClient> {
  const client = await TestClient.connect(entry.wsUrl, token, entry.label);
  clients.add(client);
  return client;
}

const lobbyHistory = (entry: EntryPoint, token: string) => request<MessagesPage | ErrorBody>(entry.httpUrl, '/api/rooms/lobby/messages', { token });

describe('identity provider tokens (AUTH_JWKS_URL)', () => {
  it('open a socket whose welcome carries the user from the claims, and read history, everywhere', async () => {
    for (const [i, entry] of entryPoints().entries()) {
      const key = keys[i % keys.length]!;
      const sub = `idp|user-${i}`;
      const token = await idp.mint(key, { sub, name: `Ann ${key.alg}`, rooms: ['lobby', 'support-*'] });
      const client = await connect(entry, token);
      expect(client.welcome.user, `${entry.label} ${key.alg}`).toEqual({ id: sub, name: `Ann ${key.alg}` });
      if (entry.nodeId) expect(client.node).toBe(entry.nodeId);
      await client.ping();
      const res = await lobbyHistory(entry, token);
      expect(res.status, entry.label).toBe(200);
      expect(Array.isArray((res.body as MessagesPage).messages)).toBe(true);
    }
    // Each replica fetched the key set itself.
    expect(idp.requests).toBeGreaterThanOrEqual(harness.cluster.replicas.length);
  });

  it('show the normalized display name: preferred_username, else sub, fullwidth made plain', async () => {
    const [entry] = entryPoints();
    const byUsername = await connect(entry!, await idp.mint(keys[1]!, { sub: 'idp|u1', preferred_username: 'ａｎｎ' }));
    expect(byUsername.welcome.user).toEqual({ id: 'idp|u1', name: 'ann' });
    const bySub = await connect(entry!, await idp.mint(keys[2]!, { sub: 'idp|u2' }));
    expect(bySub.welcome.user).toEqual({ id: 'idp|u2', name: 'idp|u2' });
  });
});

describe('forged and unacceptable tokens', () => {
  let forged: Forgery[];
  beforeAll(async () => {
    forged = await forgeries(idp, keys[0]!, harness.cluster.secret);
  });

  it('are refused during the upgrade with 401 and the reason, through nginx and on every replica', async () => {
    for (const entry of entryPoints()) {
      for (const forgery of forged) {
        const refusal = await TestClient.refusal(entry.wsUrl, forgery.token);
        const what = `${entry.label}: ${forgery.what}`;
        expect(refusal.status, what).toBe(401);
        expect((JSON.parse(refusal.body) as ErrorBody).error, what).toEqual({ code: 'unauthorized', message: forgery.message });
      }
    }
  });

  it('are refused on HTTP with 401 unauthorized and the reason, through nginx and on every replica', async () => {
    for (const entry of entryPoints()) {
      for (const forgery of forged) {
        const res = await lobbyHistory(entry, forgery.token);
        const what = `${entry.label}: ${forgery.what}`;
        expect(res.status, what).toBe(401);
        expect((res.body as ErrorBody).error, what).toEqual({ code: 'unauthorized', message: forgery.message });
      }
    }
  });
});

describe('the shared secret and the guest login, with a key set configured', () => {
  it('HS256 tokens minted with CHAT_JWT_SECRET still open sockets and call the API', async () => {
    const [entry] = entryPoints();
    const token = await mintToken(harness.cluster.secret, { sub: 'backend-42', name: 'Backend', exp: nowSeconds() + 60 });
    const client = await connect(entry!, token);
    expect(client.welcome.user).toEqual({ id: 'backend-42', name: 'Backend' });
    expect((await lobbyHistory(entry!, token)).status).toBe(200);
  });

  it('the guest login normalizes names and refuses invisible and look-alike ones', async () => {
    const { url } = harness.cluster;
    const fullwidth = await request<LoginResponse>(url, '/api/login', { body: { name: 'ａｌｉｃｅ ' } });
    const plain = await request<LoginResponse>(url, '/api/login', { body: { name: 'alice' } });
    expect(fullwidth.status).toBe(200);
    expect(fullwidth.body.user).toEqual(plain.body.user);
    for (const [name, message] of [
      ['alice\u200b', 'name contains an invisible character U+200B'],
      ['\u0430lice', 'name mixes Latin and Cyrillic letters (a look-alike character?)'],
    ]) {
      const res = await request<ErrorBody>(url, '/api/login', { body: { name } });
      expect(res.status, name).toBe(400);
      expect(res.body.error).toEqual({ code: 'bad_request', message });
    }
  });
});
