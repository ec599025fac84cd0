import type { User } from '@roomcast/server/protocol';
import { TypingIndicator } from '../presence/TypingIndicator.js';
import type { ChatClient } from './connection.js';
import { Composer } from './Composer.js';
import { MessageList } from './MessageList.js';
import type { RoomState } from './state.js';

/** One room: its messages, who is typing, and the composer. */
export function RoomView({ room, me, client }: { room: RoomState; me: User; client: ChatClient }) {
  const name = room.name;
  return (
    <section className="room" aria-labelledby="room-title">
      <header className="room-header">
        <h2 id="room-title">
          <span className="hash" aria-hidden="true">
            #
          </span>
          {name}
        </h2>
        <span className="muted room-meta">
          {room.users.length} {room.users.length === 1 ? 'person' : 'people'} here
        </span>
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
