import { beforeEach, describe, expect, it } from 'vitest';
import { ChatClient } from '../chat/connection.js';
import { FakeSocket, MemoryStore } from '../chat/test-support/fakes.js';
import { OidcSignIn } from './oidc.js';
import { SignIn, type PageLocation } from './signin.js';
import { fakeProvider, type FakeProvider } from './test-support/fake-provider.js';

const ORIGIN = 'https://chat.example.test';

class FakeLocation implements PageLocation {
  readonly history: string[] = [];
  assigned: string | null = null;
  constructor(public href: string) {}
  get pathname() {
    return new URL(this.href).pathname;
  }
  get hash() {
    return new URL(this.href).hash;
  }
  assign(url: string) {
    this.assigned = url;
  }
  replace(path: string) {
    this.href = new URL(path, ORIGIN).href;
    this.history.push(path);
  }
}

let provider: FakeProvider;
beforeEach(async () => {
  FakeSocket.reset();
  provider = await fakeProvider();
});

/** Server + provider behind one fetch; the server offers OIDC only (guest login off). */
function setup(href: string, storage = new MemoryStore()) {
  const fetch = async (url: string, init?: RequestInit) => {
    if (url === '/api/auth/config') {
      return new Response(JSON.stringify({ guestLogin: false, oidc: { issuer: provider.issuer, clientId: 'web', scope: 'openid profile' } }), { status: 200 });
    }
    return provider.fetch(url, init);
  };
  const client = new ChatClient({ WebSocket: FakeSocket, fetch, wsBase: 'wss://chat.example.test', storage: new MemoryStore() });
  client.start();
  const location = new FakeLocation(href);
  const oidc = new OidcSignIn({ fetch, storage, origin: ORIGIN });
  return { client, location, signIn: new SignIn({ client, oidc, fetch, location }), storage };
}

describe('SignIn', () => {
  it('offers the provider, leaves for it, and on the way back signs in and restores the room, with the code gone from the address', async () => {
    const storage = new MemoryStore();
    const first = setup(`${ORIGIN}/#/room/plans`, storage);
    await first.signIn.start();
    expect(first.signIn.getSnapshot()).toMatchObject({ status: 'ready', config: { guestLogin: false } });
    await first.signIn.withProvider();
    expect(first.location.assigned).toMatch(new RegExp(`^${provider.issuer}/auth\\?`));

    // The provider redirects back: a new page load of /auth/callback in the same tab.
    const code = provider.issue(first.location.assigned!);
    const state = new URL(first.location.assigned!).searchParams.get('state')!;
    const back = setup(`${ORIGIN}/auth/callback?code=${code}&state=${state}&iss=${encodeURIComponent(provider.issuer)}`, storage);
    await back.signIn.start();

    expect(back.location.history).toEqual(['/', '/#/room/plans']);
    expect(back.client.getSnapshot().session?.user).toEqual({ id: 'ada-1815', name: 'Ada Lovelace' });
    // The socket carries the ID token in its subprotocol, not in the URL.
    expect(FakeSocket.last.url).toBe('wss://chat.example.test/ws');
    expect(FakeSocket.last.protocols[1]).toMatch(/^roomcast\.bearer\.ey/);
  });

  it('shows why a callback failed, and still offers to sign in', async () => {
    const { signIn, location, client } = setup(`${ORIGIN}/auth/callback?code=x&state=y`);
    await signIn.start();
    expect(signIn.getSnapshot()).toMatchObject({ status: 'error', error: expect.stringMatching(/stale/), config: { oidc: { clientId: 'web' } } });
    expect(location.history).toEqual(['/']);
    expect(client.getSnapshot().session).toBeNull();
  });
});
