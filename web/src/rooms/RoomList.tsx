import { useState, type FormEvent } from 'react';
import { isRoomName } from '@roomcast/server/protocol';
import { normalizeRoomInput, roomHref } from './route.js';
import type { SidebarEntry, SidebarSections } from './sections.js';

interface Props {
  sections: SidebarSections;
  activeRoom: string | null;
  onJoin: (room: string) => void;
  onLeave: (room: string) => void;
  onCreatePrivate: () => void;
}

/** The user's rooms, then their direct messages, with unread counts; a field to join a public room. */
export function RoomList({ sections, activeRoom, onJoin, onLeave, onCreatePrivate }: Props) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const openCount = [...sections.rooms, ...sections.dms].filter((e) => e.open).length;

  function join(event: FormEvent) {
    event.preventDefault();
    const room = normalizeRoomInput(draft);
    if (!isRoomName(room)) {
      setError('Use lowercase letters, digits, - and _ (at most 64), starting with a letter or digit.');
      return;
    }
    setError(null);
    setDraft('');
    onJoin(room);
  }

  const item = (entry: SidebarEntry, dm: boolean) => {
    const active = entry.name === activeRoom;
    // A public room is closed with ×; a private one stays listed while the user belongs to it (leave it from Members).
    const closable = entry.open && !entry.private && openCount > 1;
    return (
      <li
        key={entry.name}
        className={[active ? 'active' : '', entry.unread > 0 ? 'has-unread' : ''].join(' ').trim() || undefined}
        data-private={entry.private || undefined}
      >
        <a href={roomHref(entry.name)} aria-current={active ? 'page' : undefined} data-testid={dm ? 'dm-link' : 'room-link'}>
          <span className="hash" aria-hidden="true">
            {dm ? '@' : entry.private ? <LockIcon /> : '#'}
          </span>
          <span className="room-name">{entry.label}</span>
          {entry.private && !dm && <span className="visually-hidden">(private)</span>}
          {entry.unread > 0 && (
            <span className="unread" data-testid="unread" aria-label={`${entry.unread} unread`}>
              {entry.unread > 99 ? '99+' : entry.unread}
            </span>
          )}
        </a>
        {closable && (
          <button type="button" className="icon-button leave" aria-label={`Leave ${entry.name}`} title="Leave room" onClick={() => onLeave(entry.name)}>
            ×
          </button>
        )}
      </li>
    );
  };

  return (
    <nav className="room-list" aria-label="Rooms and direct messages">
      <div className="section-head">
        <h2 className="section-title" id="rooms-title">
          Rooms
        </h2>
        <button type="button" className="icon-button add" aria-label="New private room" title="New private room" onClick={onCreatePrivate}>
          +
        </button>
      </div>
      <ul aria-labelledby="rooms-title" data-testid="rooms">
        {sections.rooms.map((entry) => item(entry, false))}
      </ul>
      <form className="join-form" onSubmit={join} noValidate>
        <label htmlFor="join-room">Join a room</label>
        <div className="join-row">
          <input
            id="join-room"
            placeholder="room-name"
            value={draft}
            autoCapitalize="none"
            autoCorrect="off"
            spellCheck={false}
            onChange={(e) => {
              setDraft(e.target.value);
              setError(null);
            }}
            aria-invalid={error !== null}
            aria-describedby={error ? 'join-error' : undefined}
          />
          <button type="submit">Join</button>
        </div>
        {error && (
          <p id="join-error" className="field-error" role="alert">
            {error}
          </p>
        )}
      </form>
      <h2 className="section-title dm-title" id="dms-title">
        Direct messages
      </h2>
      {sections.dms.length > 0 ? (
        <ul aria-labelledby="dms-title" data-testid="dms">
          {sections.dms.map((entry) => item(entry, true))}
        </ul>
      ) : (
        <p className="sidebar-hint">Start one from the people in a room.</p>
      )}
    </nav>
  );
}

/** A small padlock (an emoji would depend on the system's fonts). */
function LockIcon() {
  return (
    <svg className="lock-icon" viewBox="0 0 16 16" width="12" height="12" focusable="false">
      <path d="M4.5 7V5a3.5 3.5 0 0 1 7 0v2" fill="none" stroke="currentColor" strokeWidth="1.6" />
      <rect x="2.5" y="7" width="11" height="8" rx="1.5" fill="currentColor" />
    </svg>
  );
}
