/**
 * Sign-in through an OpenID Connect provider: authorization code flow with
 * PKCE (S256), state and nonce, done in the browser with oauth4webapi. The
 * ID token (a JWT the chat server verifies against the provider's JWKS) is
 * the bearer token. Nothing secret goes into a URL: the verifier, state and
 * nonce wait in sessionStorage for the redirect back, and the code is wiped
 * from the address bar once read.
 */
import * as oauth from 'oauth4webapi';
import type { AuthConfigResponse, User } from '@roomcast/server/protocol';
import type { FetchLike } from '../chat/api.js';
import type { KeyValueStore } from '../chat/storage.js';

export type OidcConfig = NonNullable<AuthConfigResponse['oidc']>;

/** Where the provider sends the browser back; nginx and the server serve index.html there. */
export const CALLBACK_PATH = '/auth/callback';

const PENDING_KEY = 'roomcast.oidc.pending';

/** What waits in sessionStorage between leaving for the provider and coming back. */
interface Pending {
  issuer: string;
  clientId: string;
  redirectUri: string;
  codeVerifier: string;
  state: string;
  nonce: string;
  /** The part of the address to restore afterwards (e.g. `#/room/x`). */
  returnTo: string;
}

export interface OidcResult {
  /** The ID token, used as the bearer token. */
  token: string;
  user: User;
  /** Where the user was going before signing in. */
  returnTo: string;
}

/** A sign-in that did not work, with a message for the user. */
export class SignInError extends Error {
  override name = 'SignInError';
}

export interface OidcOptions {
  fetch: FetchLike;
  /** sessionStorage in the browser. */
  storage: KeyValueStore;
  /** The app's origin, e.g. `https://chat.example.com`. */
  origin: string;
}

/** The provider's host, for the button ("Sign in with login.example.com"). */
export function providerName(issuer: string): string {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}

export class OidcSignIn {
  constructor(private readonly options: OidcOptions) {}

  get redirectUri(): string {
    return `${this.options.origin}${CALLBACK_PATH}`;
  }

  /** Whether `location` is the provider's redirect back to us. */
  isCallback(location: { pathname: string }): boolean {
    return location.pathname === CALLBACK_PATH;
  }

  /** Prepares the flow and returns the provider's authorization URL to navigate to. */
  async begin(config: OidcConfig, returnTo: string): Promise<string> {
    const issuer = parseIssuer(config.issuer);
    const as = await this.discover(issuer);
    if (!as.authorization_endpoint) throw new SignInError('The sign-in provider has no authorization endpoint.');
    if (as.code_challenge_methods_supported && !as.code_challenge_methods_supported.includes('S256')) {
      throw new SignInError('The sign-in provider does not support PKCE with S256.');
    }
    const pending: Pending = {
      issuer: config.issuer,
      clientId: config.clientId,
      redirectUri: this.redirectUri,
      codeVerifier: oauth.generateRandomCodeVerifier(),
      state: oauth.generateRandomState(),
      nonce: oauth.generateRandomNonce(),
      returnTo,
    };
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', config.clientId);
    url.searchParams.set('redirect_uri', pending.redirectUri);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('scope', scopeWithOpenid(config.scope));
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(pending.codeVerifier));
    url.searchParams.set('code_challenge_method', 'S256');
    url.searchParams.set('state', pending.state);
    url.searchParams.set('nonce', pending.nonce);
    this.options.storage.setItem(PENDING_KEY, JSON.stringify(pending));
    return url.href;
  }

  /**
   * Finishes the flow from the callback URL: checks state, exchanges the code
   * (with the verifier) for tokens, checks the ID token's claims (issuer,
   * audience, nonce, expiry). The pending entry is used once, whatever happens.
   */
  async complete(callbackUrl: string): Promise<OidcResult> {
    const pending = this.takePending();
    if (!pending) throw new SignInError('This sign-in link is stale. Please sign in again.');
    const issuer = parseIssuer(pending.issuer);
    const as = await this.discover(issuer);
    const client: oauth.Client = { client_id: pending.clientId };
    let params: URLSearchParams;
    try {
      params = oauth.validateAuthResponse(as, client, new URL(callbackUrl), pending.state);
    } catch (error) {
      throw new SignInError(describe(error, 'The sign-in provider sent us back without signing you in.'));
    }
    try {
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, pending.redirectUri, pending.codeVerifier, this.http(issuer));
      const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: pending.nonce, requireIdToken: true });
      const claims = oauth.getValidatedIdTokenClaims(result);
      if (!result.id_token || !claims) throw new SignInError('The sign-in provider gave no ID token.');
      return { token: result.id_token, user: { id: claims.sub, name: displayName(claims) }, returnTo: pending.returnTo };
    } catch (error) {
      if (error instanceof SignInError) throw error;
      throw new SignInError(describe(error, 'Could not finish signing in.'));
    }
  }

  private async discover(issuer: URL): Promise<oauth.AuthorizationServer> {
    try {
      const response = await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...this.http(issuer) });
      return await oauth.processDiscoveryResponse(issuer, response);
    } catch (error) {
      throw new SignInError(describe(error, 'Could not reach the sign-in provider.'));
    }
  }

  /** Our fetch, and plain http only for a provider on this machine (development and tests). */
  private http(issuer: URL): { [oauth.customFetch]: typeof fetch; [oauth.allowInsecureRequests]?: boolean } {
    return {
      [oauth.customFetch]: ((url: string, init?: RequestInit) => this.options.fetch(url, init)) as typeof fetch,
      ...(issuer.protocol === 'http:' && isLoopback(issuer.hostname) ? { [oauth.allowInsecureRequests]: true } : {}),
    };
  }

  private takePending(): Pending | null {
    const text = this.options.storage.getItem(PENDING_KEY);
    this.options.storage.removeItem(PENDING_KEY);
    if (!text) return null;
    try {
      const value = JSON.parse(text) as Partial<Pending>;
      const keys: Array<keyof Pending> = ['issuer', 'clientId', 'redirectUri', 'codeVerifier', 'state', 'nonce', 'returnTo'];
      return keys.every((key) => typeof value[key] === 'string') ? (value as Pending) : null;
    } catch {
      return null;
    }
  }
}

/** The server's rule: `name`, else `preferred_username`, else `sub`. */
function displayName(claims: oauth.IDToken): string {
  for (const value of [claims.name, claims.preferred_username]) if (typeof value === 'string' && value.trim() !== '') return value;
  return claims.sub;
}

function scopeWithOpenid(scope: string): string {
  const scopes = scope.split(/\s+/).filter(Boolean);
  return (scopes.includes('openid') ? scopes : ['openid', ...scopes]).join(' ');
}

function parseIssuer(issuer: string): URL {
  try {
    return new URL(issuer);
  } catch {
    throw new SignInError('The sign-in provider is misconfigured (its issuer is not a URL).');
  }
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

function describe(error: unknown, fallback: string): string {
  // An error answer from the provider (e.g. access_denied) carries its description.
  if (error instanceof oauth.AuthorizationResponseError) return `${fallback} (${error.error_description ?? error.error})`;
  if (error instanceof oauth.ResponseBodyError) return `${fallback} (${error.error_description ?? error.error})`;
  return fallback;
}
