import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { OidcSignIn } from './auth/oidc.js';
import { SignIn } from './auth/signin.js';
import { SignInContext } from './auth/useSignIn.js';
import { ChatClient, socketOrigin } from './chat/connection.js';
import { Membership } from './chat/membership.js';
import { ChatClientContext } from './chat/useChat.js';
import { MembershipContext } from './chat/useMembership.js';
import './styles.css';

/** The user sees the page: the tab is visible and the window has the focus. */
const attention = {
  get active() {
    return document.visibilityState === 'visible' && document.hasFocus();
  },
  subscribe(listener: () => void) {
    document.addEventListener('visibilitychange', listener);
    window.addEventListener('focus', listener);
    window.addEventListener('blur', listener);
    return () => {
      document.removeEventListener('visibilitychange', listener);
      window.removeEventListener('focus', listener);
      window.removeEventListener('blur', listener);
    };
  },
};

// One client for the tab: it outlives renders, so it is created outside React.
const client = new ChatClient({
  WebSocket,
  fetch: (url, init) => window.fetch(url, init),
  wsBase: socketOrigin(window.location),
  // The token and the open rooms are the tab's; the outbox, drafts and rooms' last known state are the user's.
  storage: window.sessionStorage,
  userStorage: window.localStorage,
  attention,
  network: {
    get onLine() {
      return navigator.onLine;
    },
    addEventListener: (type, listener) => window.addEventListener(type, listener),
    removeEventListener: (type, listener) => window.removeEventListener(type, listener),
  },
});
// The people book outlives the tab (per user, in localStorage); the session does not.
const membership = new Membership(client, { storage: window.localStorage });
membership.start();
client.start();
// What is kept on the device is written in batches: write it now if the page may be going away.
window.addEventListener('pagehide', () => client.persistNow());
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') client.persistNow();
});

// How this server signs people in, and the way back from its OpenID Connect provider.
const fetchFromPage = (url: string, init?: RequestInit) => window.fetch(url, init);
const signIn = new SignIn({
  client,
  fetch: fetchFromPage,
  oidc: new OidcSignIn({ fetch: fetchFromPage, storage: window.sessionStorage, origin: window.location.origin }),
  location: {
    get href() {
      return window.location.href;
    },
    get pathname() {
      return window.location.pathname;
    },
    get hash() {
      return window.location.hash;
    },
    assign: (url) => window.location.assign(url),
    replace: (path) => window.history.replaceState(null, '', path),
  },
});
void signIn.start();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ChatClientContext.Provider value={client}>
      <MembershipContext.Provider value={membership}>
        <SignInContext.Provider value={signIn}>
          <App />
        </SignInContext.Provider>
      </MembershipContext.Provider>
    </ChatClientContext.Provider>
  </StrictMode>,
);
