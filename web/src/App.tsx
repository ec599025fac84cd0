import { useEffect, useMemo, useState } from 'react';
import type { User } from '@roomcast/server/protocol';
import { useSignIn } from './auth/useSignIn.js';
import { ConnectionBadge } from './chat/ConnectionBadge.js';
import { Login } from './chat/Login.js';
import { isDmName } from './chat/membership.js';
import { RoomView } from './chat/RoomView.js';
import { useChat } from './chat/useChat.js';
import { useMembership } from './chat/useMembership.js';
import { PresenceList } from './presence/PresenceList.js';
import { CreateRoomDialog } from './rooms/CreateRoomDialog.js';
import { MembersDialog } from './rooms/MembersDialog.js';
import { Notices } from './rooms/Notices.js';
import { describeProblem } from './rooms/problem.js';
import { RoomList } from './rooms/RoomList.js';
import { roomHref } from './rooms/route.js';
import { sidebarSections } from './rooms/sections.js';
import { useRoomRoute } from './rooms/useRoomRoute.js';

type OpenDialog = { kind: 'create' } | { kind: 'members'; room: string } | null;

export function App() {
  const { state, client } = useChat();
  const { rooms: listed, membership } = useMembership();
  const { signIn, state: signInState } = useSignIn();
  useRoomRoute(state, client);
  const [drawerOpen, setDrawerOpen] = useState(false);
  const [dialog, setDialog] = useState<OpenDialog>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const sections = useMemo(() => sidebarSections(state, listed.rooms, (id) => membership.nameOf(id)), [state, listed, membership]);

  // On a phone the sidebar is a drawer: close it once a room is picked.
  useEffect(() => setDrawerOpen(false), [state.activeRoom]);

  // The tab title tells about unread messages while the tab is in the background.
  const totalUnread = Object.values(state.rooms).reduce((sum, room) => sum + room.unread, 0);
  useEffect(() => {
    document.title = totalUnread > 0 ? `(${totalUnread}) Roomcast` : 'Roomcast';
  }, [totalUnread]);

  const session = state.session;
  if (!session) {
    return <Login signIn={signInState} onGuest={(name) => signIn.asGuest(name)} onProvider={() => void signIn.withProvider()} notice={state.authError} />;
  }

  const active = state.activeRoom ? state.rooms[state.activeRoom] : undefined;
  const activeListing = active ? listed.rooms.find((room) => room.name === active.name) : undefined;
  const activeKind = active && (activeListing?.peer !== undefined || isDmName(active.name)) ? 'dm' : activeListing?.private ? 'private' : 'public';
  const go = (room: string) => {
    window.location.hash = roomHref(room);
  };
  const message = (user: User) => {
    setProblem(null);
    membership.openDm(user).then(
      (room) => go(room.name),
      (error: unknown) => setProblem(describeProblem(error)),
    );
  };

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
          sections={sections}
          activeRoom={state.activeRoom}
          onJoin={go}
          onLeave={(room) => {
            client.leaveRoom(room);
            const next = client.getSnapshot().activeRoom;
            if (next) go(next);
          }}
          onCreatePrivate={() => setDialog({ kind: 'create' })}
        />
        {active && <PresenceList room={membership.label(active.name)} users={active.users} me={session.user} onMessage={message} />}
      </aside>
      <div className="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} />
      <main className="main">
        <Notices notices={listed.notices} problem={problem} onDismiss={(id) => membership.dismiss(id)} onDismissProblem={() => setProblem(null)} />
        {active ? (
          <RoomView
            key={active.name}
            room={active}
            me={session.user}
            client={client}
            label={membership.label(active.name)}
            kind={activeKind}
            onMembers={activeKind === 'private' ? () => setDialog({ kind: 'members', room: active.name }) : undefined}
          />
        ) : (
          <p className="empty muted">Join a room to start.</p>
        )}
      </main>
      {dialog?.kind === 'create' && (
        <CreateRoomDialog
          membership={membership}
          people={listed.people}
          me={session.user}
          onClose={() => setDialog(null)}
          onCreated={(room) => {
            setDialog(null);
            go(room);
          }}
        />
      )}
      {dialog?.kind === 'members' && (
        <MembersDialog
          room={dialog.room}
          membership={membership}
          people={listed.people}
          me={session.user}
          onClose={() => setDialog(null)}
          onLeft={() => {
            setDialog(null);
            const next = client.getSnapshot().activeRoom;
            if (next) go(next);
          }}
        />
      )}
    </div>
  );
}
