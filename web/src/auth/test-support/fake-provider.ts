/**
 * A stand-in OpenID Connect provider behind a fake fetch: discovery, and a
 * token endpoint that checks the code, redirect URI, client and PKCE
 * verifier like a real one, and answers with an RS256 ID token.
 */
export interface FakeProvider {
  issuer: string;
  fetch: (url: string, init?: RequestInit) => Promise<Response>;
  /** Codes the provider issued: code → the authorization request's parameters. */
  issue(authorizationUrl: string): string;
  /** Claims added to (or overriding) the next ID tokens. */
  claims: Record<string, unknown>;
  tokenRequests: URLSearchParams[];
}

const b64url = (bytes: ArrayBuffer | Uint8Array) =>
  btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

export async function fakeProvider(issuer = 'https://login.example.test'): Promise<FakeProvider> {
  const keys = await crypto.subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  );
  const codes = new Map<string, URLSearchParams>();
  const tokenRequests: URLSearchParams[] = [];
  const provider: FakeProvider = {
    issuer,
    claims: {},
    tokenRequests,
    issue(authorizationUrl) {
      const code = `code-${codes.size + 1}`;
      codes.set(code, new URL(authorizationUrl).searchParams);
      return code;
    },
    async fetch(url, init) {
      if (url === `${issuer}/.well-known/openid-configuration`) {
        return json(200, {
          issuer,
          authorization_endpoint: `${issuer}/auth`,
          token_endpoint: `${issuer}/token`,
          jwks_uri: `${issuer}/jwks`,
          response_types_supported: ['code'],
          code_challenge_methods_supported: ['S256'],
          id_token_signing_alg_values_supported: ['RS256'],
        });
      }
      if (url === `${issuer}/token` && init?.method === 'POST') {
        const form = new URLSearchParams(String(init.body));
        tokenRequests.push(form);
        const request = codes.get(form.get('code') ?? '');
        codes.delete(form.get('code') ?? '');
        const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(form.get('code_verifier') ?? '')));
        if (
          !request ||
          form.get('grant_type') !== 'authorization_code' ||
          form.get('redirect_uri') !== request.get('redirect_uri') ||
          form.get('client_id') !== request.get('client_id') ||
          challenge !== request.get('code_challenge')
        ) {
          return json(400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
        }
        const now = Math.floor(Date.now() / 1000);
        const idToken = await sign(keys.privateKey, {
          iss: issuer,
          aud: request.get('client_id'),
          sub: 'ada-1815',
          name: 'Ada Lovelace',
          nonce: request.get('nonce'),
          iat: now,
          exp: now + 600,
          ...provider.claims,
        });
        return json(200, { access_token: 'opaque-access', token_type: 'Bearer', expires_in: 600, id_token: idToken, scope: request.get('scope') });
      }
      return json(404, { error: 'not_found' });
    },
  };
  return provider;
}

async function sign(key: CryptoKey, claims: Record<string, unknown>): Promise<string> {
  const encode = (value: object) => b64url(new TextEncoder().encode(JSON.stringify(value)));
  const input = `${encode({ alg: 'RS256', typ: 'JWT', kid: 'k1' })}.${encode(claims)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key, new TextEncoder().encode(input));
  return `${input}.${b64url(signature)}`;
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}
