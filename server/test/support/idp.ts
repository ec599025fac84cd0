/**
 * A tiny identity provider for the tests: serves a JSON Web Key Set on
 * 127.0.0.1 (counting the fetches) and mints tokens with its keys, plus every
 * kind of forged or unacceptable token the server must refuse.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, exportSPKI, generateKeyPair, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { nowSeconds } from './tokens.js';

export type SigningAlg = 'RS256' | 'ES256' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey;
  /** The public key as served in the set (with kid, alg, use). */
  jwk: JWK;
  /** The public key as PEM (SPKI), for the algorithm-confusion forgery. */
  pem: string;
}

/** Claims of a test token; `undefined` removes a default claim. */
export type Claims = Record<string, unknown>;

let kids = 0;

export class TestIdentityProvider {
  readonly issuer = 'https://idp.roomcast.test/';
  readonly audience = 'roomcast-chat';
  /** GET requests for the key set so far: how tests see jose refetch it. */
  requests = 0;
  private served: SigningKey[] = [];

  private constructor(private readonly server: Server) {
    server.on('request', (req, res) => {
      if (req.url !== '/jwks.json') return void res.writeHead(404).end();
      this.requests++;
      res.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      res.end(JSON.stringify({ keys: this.served.map((key) => key.jwk) }));
    });
  }

  static async start(): Promise<TestIdentityProvider> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new TestIdentityProvider(server);
  }

  /** A new key pair; not served until passed to `serve`. */
  static async key(alg: SigningAlg, kid = `${alg.toLowerCase()}-${++kids}`): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    return { kid, alg, privateKey, jwk, pem: await exportSPKI(publicKey) };
  }

  get jwksUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/jwks.json`;
  }

  /** Replaces the key set the provider serves (a rotation). */
  serve(keys: SigningKey[]): void {
    this.served = [...keys];
  }

  /** A token signed by `key`: sub, iss, aud, iat and a 5-minute exp by default, overridden by `claims`. */
  mint(key: SigningKey, claims: Claims = {}, kid = key.kid): Promise<string> {
    const payload = withoutUndefined({ sub: 'idp|alice', iss: this.issuer, aud: this.audience, iat: nowSeconds(), exp: nowSeconds() + 300, ...claims });
    return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: key.alg, kid, typ: 'JWT' }).sign(key.privateKey);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function withoutUndefined(claims: Claims): Claims {
  return Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
}

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * An HS* token whose HMAC secret is `secret`'s bytes: with a public key's PEM
 * or JWK, the algorithm-confusion attack on servers that verify HS256 with
 * whatever key the set offers.
 */
function hmacToken(alg: 'HS256' | 'HS384', secret: string, payload: Claims): Promise<string> {
  return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg, typ: 'JWT' }).sign(new TextEncoder().encode(secret));
}

export interface Forgery {
  what: string;
  token: string;
  /** The refusal message the server must give. */
  message: string;
}

/**
 * Every token the server must refuse, for a provider serving `served` and
 * replicas sharing `secret`: wrong issuer or audience, unknown key, alg none,
 * algorithm confusion, a bad signature, expired, not yet valid, bad claims.
 */
export async function forgeries(idp: TestIdentityProvider, served: SigningKey, secret: string): Promise<Forgery[]> {
  const stranger = await TestIdentityProvider.key('RS256', 'not-in-the-set');
  const impostor = await TestIdentityProvider.key(served.alg);
  const valid = { sub: 'idp|mallory', name: 'mallory', iss: idp.issuer, aud: idp.audience, exp: nowSeconds() + 300 };
  const unsigned = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(valid)}.`;
  return [
    { what: 'a wrong issuer', token: await idp.mint(served, { iss: 'https://evil.example/' }), message: 'token issuer is not accepted' },
    { what: 'no issuer', token: await idp.mint(served, { iss: undefined }), message: 'token issuer is not accepted' },
    { what: 'a wrong audience', token: await idp.mint(served, { aud: 'another-app' }), message: 'token audience is not accepted' },
    { what: 'a key not in the set', token: await idp.mint(stranger), message: 'token signed with an unknown key' },
    { what: 'alg none', token: unsigned, message: 'token algorithm not accepted' },
    { what: 'HS256 with the public key PEM as secret', token: await hmacToken('HS256', served.pem, valid), message: 'invalid token' },
    { what: 'HS256 with the public JWK as secret', token: await hmacToken('HS256', JSON.stringify(served.jwk), valid), message: 'invalid token' },
    { what: 'HS384 with the shared secret', token: await hmacToken('HS384', secret, valid), message: 'token algorithm not accepted' },
    // The served key's kid, but another key's signature.
    { what: 'a forged signature', token: await idp.mint(impostor, {}, served.kid), message: 'invalid token' },
    { what: 'an expired token', token: await idp.mint(served, { exp: nowSeconds() - 60 }), message: 'token expired' },
    { what: 'a not-yet-valid token', token: await idp.mint(served, { nbf: nowSeconds() + 600 }), message: 'token not yet valid' },
    { what: 'no exp', token: await idp.mint(served, { exp: undefined }), message: 'token has no exp claim' },
    { what: 'no sub', token: await idp.mint(served, { sub: undefined }), message: 'token has no sub claim' },
    {
      what: 'a sub with a tab',
      token: await idp.mint(served, { sub: 'idp|a\tb' }),
      message: 'token sub claim contains a control or invisible character',
    },
    {
      what: 'an invisible character in name',
      token: await idp.mint(served, { name: 'alice\u200b' }),
      message: 'token name claim is not accepted: name contains an invisible character U+200B',
    },
    {
      what: 'a control character in name',
      token: await idp.mint(served, { name: 'ali\u0007ce' }),
      message: 'token name claim is not accepted: name contains a control character U+0007',
    },
    {
      what: 'a mixed-script preferred_username',
      token: await idp.mint(served, { preferred_username: '\u0430lice' }),
      message: 'token preferred_username claim is not accepted: name mixes Latin and Cyrillic letters (a look-alike character?)',
    },
    {
      what: 'a malformed rooms claim',
      token: await idp.mint(served, { rooms: ['lobby', 'Support*'] }),
      message: 'invalid token: the rooms claim must be a list of room names or prefixes ending in *',
    },
  ];
}
