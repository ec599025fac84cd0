import { useCallback, useEffect, useMemo, useRef, useState, type RefObject } from 'react';
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
import { showUnreadInTab } from './ui/favicon.js';
import { useMediaQuery } from './ui/useMediaQuery.js';

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

  // On a phone the sidebar is a drawer: a modal dialog while open, closed once a room is picked.
  const phone = useMediaQuery('(max-width: 720px)');
  const drawer = phone && drawerOpen;
  const sidebar = useRef<HTMLDivElement>(null);
  const toggle = useRef<HTMLButtonElement>(null);
  useEffect(() => setDrawerOpen(false), [state.activeRoom]);
  const closeDrawer = useCallback(() => setDrawerOpen(false), []);
  useDrawerFocus(drawer, sidebar, toggle, closeDrawer);

  // The tab's title and icon tell about unread messages (the open room's too, while the page is in the background).
  const totalUnread = Object.values(state.rooms).reduce((sum, room) => sum + room.unread, 0);
  const unsent = Object.values(state.rooms).reduce((sum, room) => sum + room.pending.length, 0);
  useEffect(() => showUnreadInTab(totalUnread), [totalUnread]);

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
      <header className="topbar" inert={drawer}>
        <button
          ref={toggle}
          type="button"
          className="icon-button drawer-toggle"
          aria-expanded={drawerOpen}
          aria-controls="sidebar"
          aria-haspopup="dialog"
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
        <ConnectionBadge connection={state.connection} />
        <div className="me">
          <span className="me-name" title="Signed in as">
            {session.user.name}
          </span>
          <button
            type="button"
            className="ghost"
            onClick={() => {
              // Logging out forgets everything of the user on this device, unsent messages included.
              if (unsent > 0 && !window.confirm(`${unsent} unsent ${unsent === 1 ? 'message' : 'messages'} will be lost. Log out anyway?`)) return;
              client.logout();
            }}
          >
            Log out
          </button>
        </div>
      </header>
      {/* A landmark beside the room; on a phone, a drawer that is a modal dialog while open. */}
      <div
        id="sidebar"
        className="sidebar"
        ref={sidebar}
        role={drawer ? 'dialog' : 'complementary'}
        aria-modal={drawer ? true : undefined}
        aria-label="Rooms and people"
      >
        {drawer && (
          <button type="button" className="icon-button drawer-close" aria-label="Close rooms and people" onClick={closeDrawer}>
            ×
          </button>
        )}
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
        {active && <PresenceList room={membership.label(active.name)} users={active.users} me={session.user} live={active.joined} onMessage={message} />}
      </div>
      <div className="scrim" aria-hidden="true" onClick={() => setDrawerOpen(false)} />
      <main className="main" inert={drawer}>
        <Notices notices={listed.notices} problem={problem} onDismiss={(id) => membership.dismiss(id)} onDismissProblem={() => setProblem(null)} />
        {active ? (
          <RoomView
            key={active.name}
            room={active}
            me={session.user}
            client={client}
            connection={state.connection}
            unsent={unsent}
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

/**
 * The drawer as a modal dialog: focus moves into it when it opens (the rest
 * of the page is inert meanwhile), Escape closes it, and focus goes back to
 * the button that opened it.
 */
function useDrawerFocus(open: boolean, drawer: RefObject<HTMLElement | null>, opener: RefObject<HTMLElement | null>, close: () => void) {
  const wasOpen = useRef(false);
  useEffect(() => {
    if (!open) {
      if (wasOpen.current) opener.current?.focus();
      wasOpen.current = false;
      return;
    }
    wasOpen.current = true;
    const element = drawer.current;
    const target = element?.querySelector<HTMLElement>('[aria-current="page"]') ?? element?.querySelector<HTMLElement>('a, button, input');
    target?.focus();
    const onKey = (event: KeyboardEvent) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        close();
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open, drawer, opener, close]);
}
