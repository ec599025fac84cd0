import type { AuthConfigResponse } from '@roomcast/server/protocol';
import { ChatApi, type FetchLike } from '../chat/api.js';
import type { ChatClient } from '../chat/connection.js';
import { SignInError, type OidcSignIn } from './oidc.js';

export interface SignInState {
  /** How this server signs people in; null until known. */
  config: AuthConfigResponse | null;
  status: 'loading' | 'ready' | 'redirecting' | 'completing' | 'error';
  /** Why the last attempt failed (shown on the sign-in screen). */
  error: string | null;
}

/** The page's address, as far as sign-in cares. */
export interface PageLocation {
  readonly href: string;
  readonly pathname: string;
  readonly hash: string;
  /** Leaves for the provider. */
  assign(url: string): void;
  /** Rewrites the address without a navigation (history.replaceState). */
  replace(path: string): void;
}

export interface SignInOptions {
  client: ChatClient;
  oidc: OidcSignIn;
  fetch: FetchLike;
  httpBase?: string;
  location: PageLocation;
}

/**
 * The sign-in screen's logic: which ways to sign in this server offers
 * (`GET /api/auth/config`), the guest login, and the OpenID Connect round
 * trip, handing the resulting token to the ChatClient.
 */
export class SignIn {
  private state: SignInState = { config: null, status: 'loading', error: null };
  private readonly listeners = new Set<() => void>();
  private readonly api: ChatApi;

  constructor(private readonly options: SignInOptions) {
    this.api = new ChatApi(options.fetch, options.httpBase ?? '');
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): SignInState => this.state;

  /** Finishes a sign-in the provider sent us back from, and learns the server's sign-in options. */
  async start(): Promise<void> {
    const { location, oidc } = this.options;
    if (oidc.isCallback(location)) {
      const callback = location.href;
      // The code is single-use, but it has no business staying in the address bar or the history.
      location.replace('/');
      this.update({ status: 'completing', error: null });
      try {
        const result = await oidc.complete(callback);
        location.replace(`/${result.returnTo}`);
        this.options.client.adoptSession({ token: result.token, user: result.user });
      } catch (error) {
        this.update({ error: error instanceof Error ? error.message : 'Could not finish signing in.' });
      }
    }
    await this.loadConfig();
  }

  async loadConfig(): Promise<void> {
    try {
      const config = await this.api.authConfig();
      this.update({ config, status: this.state.error ? 'error' : 'ready' });
    } catch {
      this.update({ status: 'error', error: this.state.error ?? 'Could not reach the server. Reload the page to try again.' });
    }
  }

  /** Leaves for the provider's sign-in page. */
  async withProvider(): Promise<void> {
    const oidc = this.state.config?.oidc;
    if (!oidc) return;
    this.update({ status: 'redirecting', error: null });
    try {
      this.options.location.assign(await this.options.oidc.begin(oidc, this.options.location.hash));
    } catch (error) {
      this.update({ status: 'error', error: error instanceof SignInError ? error.message : 'Could not start signing in.' });
    }
  }

  /** The guest login, when the server offers it; throws with the server's reason. */
  async asGuest(name: string): Promise<void> {
    this.update({ error: null });
    await this.options.client.login(name);
  }

  private update(patch: Partial<SignInState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }
}

