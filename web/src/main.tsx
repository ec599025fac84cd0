import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { ChatClient, socketOrigin } from './chat/connection.js';
import { Membership } from './chat/membership.js';
import { ChatClientContext } from './chat/useChat.js';
import { MembershipContext } from './chat/useMembership.js';
import './styles.css';

// One client for the tab: it outlives renders, so it is created outside React.
const client = new ChatClient({
  WebSocket,
  fetch: (url, init) => window.fetch(url, init),
  wsBase: socketOrigin(window.location),
  storage: window.sessionStorage,
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

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ChatClientContext.Provider value={client}>
      <MembershipContext.Provider value={membership}>
        <App />
      </MembershipContext.Provider>
    </ChatClientContext.Provider>
  </StrictMode>,
);
