import { useState, type FormEvent } from 'react';
import { isRoomName } from '@roomcast/server/protocol';
import type { RoomState } from '../chat/state.js';
import { normalizeRoomInput, roomHref } from './route.js';

interface Props {
  rooms: readonly RoomState[];
  activeRoom: string | null;
  onJoin: (room: string) => void;
  onLeave: (room: string) => void;
}

/** The rooms the user joined, with unread counts, and a field to join another. */
export function RoomList({ rooms, activeRoom, onJoin, onLeave }: Props) {
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);

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

  return (
    <nav className="room-list" aria-label="Rooms">
      <h2 className="section-title">Rooms</h2>
      <ul>
        {rooms.map((room) => {
          const active = room.name === activeRoom;
          return (
            <li key={room.name} className={active ? 'active' : undefined}>
              <a href={roomHref(room.name)} aria-current={active ? 'page' : undefined} data-testid="room-link">
                <span className="hash" aria-hidden="true">
                  #
                </span>
                <span className="room-name">{room.name}</span>
                {room.unread > 0 && (
                  <span className="unread" data-testid="unread" aria-label={`${room.unread} unread`}>
                    {room.unread > 99 ? '99+' : room.unread}
                  </span>
                )}
              </a>
              {rooms.length > 1 && (
                <button type="button" className="icon-button leave" aria-label={`Leave ${room.name}`} title="Leave room" onClick={() => onLeave(room.name)}>
                  ×
                </button>
              )}
            </li>
          );
        })}
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
    </nav>
  );
}
