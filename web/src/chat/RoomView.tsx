import type { User } from '@roomcast/server/protocol';
import { TypingIndicator } from '../presence/TypingIndicator.js';
import type { ChatClient } from './connection.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import type { RoomState } from './state.js';

interface Props {
  room: RoomState;
  me: User;
  client: ChatClient;
  /** How to title it: a DM by the other person's name. */
  label?: string;
  kind?: 'public' | 'private' | 'dm';
  /** Opens the members dialog (private rooms). */
  onMembers?: () => void;
}

/** One room: its messages, who is typing, and the composer. */
export function RoomView({ room, me, client, label, kind = 'public', onMembers }: Props) {
  const name = room.name;
  return (
    <section className="room" aria-labelledby="room-title">
      <header className="room-header">
        <h2 id="room-title">
          <span className="hash" aria-hidden="true">
            {kind === 'dm' ? '@' : '#'}
          </span>
          {label ?? name}
        </h2>
        {kind === 'private' && <span className="tag">private</span>}
        <span className="muted room-meta">
          {room.users.length} {room.users.length === 1 ? 'person' : 'people'} here
        </span>
        {onMembers && (
          <button type="button" className="ghost members-button" onClick={onMembers}>
            Members
          </button>
        )}
      </header>
      {room.error && !room.joined && (
        <p className="banner" role="status">
          Could not join #{name} ({room.error.message}). Trying again…
        </p>
      )}
      {room.truncated && (
        <p className="banner" role="status">
          Some messages sent while you were away are no longer kept and cannot be shown.
        </p>
      )}
      <MessageList
        key={name}
        room={name}
        me={me}
        messages={room.messages}
        pending={room.pending}
        history={room.history}
        joined={room.joined}
        onLoadOlder={() => void client.loadOlder(name)}
        onRetry={(ref) => client.retry(name, ref)}
        onDiscard={(ref) => client.discard(name, ref)}
      />
      <TypingIndicator typing={room.typing} />
      <Composer key={`composer-${name}`} room={name} onSend={(text) => client.send(name, text)} onTyping={() => client.notifyTyping(name)} />
    </section>
  );
}
