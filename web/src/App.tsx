import { useEffect, useState } from 'react';
import { ConnectionBadge } from './chat/ConnectionBadge.js';
import { Login } from './chat/Login.js';
import { RoomView } from './chat/RoomView.js';
import { useChat } from './chat/useChat.js';
import { PresenceList } from './presence/PresenceList.js';
import { RoomList } from './rooms/RoomList.js';
import { roomHref } from './rooms/route.js';
import { useRoomRoute } from './rooms/useRoomRoute.js';

export function App() {
  const { state, client } = useChat();
  useRoomRoute(state, client);
  const [drawerOpen, setDrawerOpen] = useState(false);

  // On a phone the sidebar is a drawer: close it once a room is picked.
  useEffect(() => setDrawerOpen(false), [state.activeRoom]);

  // The tab title tells about unread messages while the tab is in the background.
  const totalUnread = Object.values(state.rooms).reduce((sum, room) => sum + room.unread, 0);
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Roomcast` : 'Roomcast';
  }, [totalUnread]);

  const session = state.session;
  if (!session) return <Login onLogin={(name) => client.login(name)} notice={state.authError} />;

  const rooms = state.roomOrder.flatMap((name) => state.rooms[name] ?? []);
  const active = state.activeRoom ? state.rooms[state.activeRoom] : undefined;

  return (
    <div className={`app${drawerOpen ? ' drawer-open' : ''}`}>
      <header className="topbar">
        <button
          type="button"
          className="icon-button drawer-toggle"
          aria-expanded={drawerOpen}
          aria-controls="sidebar"
          onClick={() => setDrawerOpen((open) => !open)}
        >
          <span aria-hidden="true">☰</span>
          <span className="visually-hidden">Rooms and people</span>
          {totalUnread > 0 && <span className="unread-dot" aria-label={`${totalUnread} unread`} />}
        </button>
        <h1 className="brand">
          <span className="brand-mark" aria-hidden="true">
            #
          </span>
          <span className="brand-text">Roomcast</span>
        </h1>
        <ConnectionBadge connection={state.connection} onRetry={() => client.reconnectNow()} />
        <div className="me">
          <span className="me-name" title="Signed in as">
            {session.user.name}
          </span>
          <button type="button" className="ghost" onClick={() => client.logout()}>
            Log out
          </button>
        </div>
      </header>
      <aside id="sidebar" className="sidebar">
        <RoomList
          rooms={rooms}
          activeRoom={state.activeRoom}
          onJoin={(room) => {
            window.location.hash = roomHref(room);
          }}
          onLeave={(room) => {
            client.leaveRoom(room);
            const next = client.getSnapshot().activeRoom;
            if (next) window.location.hash = roomHref(next);
          }}
        />
        {active && <PresenceList room={active.name} users={active.users} me={session.user} />}
      </aside>
      <div className="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} />
      <main className="main">
        {active ? <RoomView room={active} me={session.user} client={client} /> : <p className="empty muted">Join a room to start.</p>}
      </main>
    </div>
  );
}
