/**
 * A real OpenID Connect provider (the `oidc-provider` package) on 127.0.0.1,
 * for the sign-in test: one public client (no secret, PKCE required) whose
 * redirect URI is the app's /auth/callback, a fixed account, its own RS256
 * key served at /jwks, and the package's development interactions (a login
 * form, then a consent form) for the browser to go through.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'roomcast-web';

/** Logins the provider knows, and the name each one has. */
export const ACCOUNTS: Record<string, string> = { ada: 'Ada Lovelace' };

export interface TestProvider {
  issuer: string;
  jwksUri: string;
  /** Lifetime of the ID tokens issued from now on, in seconds. */
  idTokenTtl: number;
  stop(): Promise<void>;
}

/** Listens first (the issuer needs the port), then mounts the provider for `appOrigin`. */
export async function startProvider(appOrigin: string): Promise<TestProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | null = null;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else res.writeHead(503).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'e2e-1', alg: 'RS256', use: 'sig' };

  const handle: TestProvider = {
    issuer,
    jwksUri: `${issuer}/jwks`,
    idTokenTtl: 3600,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        token_endpoint_auth_method: 'none',
        redirect_uris: [`${appOrigin}/auth/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    pkce: { required: () => true },
    // The browser calls the token endpoint from the app's origin.
    clientBasedCORS: (_ctx, origin) => origin === appOrigin,
    findAccount: (_ctx, id) => {
      const name = ACCOUNTS[id];
      return name === undefined ? undefined : { accountId: id, claims: () => ({ sub: id, name }) };
    },
    claims: { openid: ['sub'], profile: ['name'] },
    // The chat server reads the display name from the ID token itself.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    jwks: { keys: [jwk] },
    cookies: { keys: ['e2e-only-cookie-key'] },
    ttl: { IdToken: () => handle.idTokenTtl, AccessToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  });
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider:', error));
  handler = provider.callback();
  return handle;
}
