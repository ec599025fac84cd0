import { useCallback, useSyncExternalStore } from 'react';
import type { User } from '@roomcast/server/protocol';
import { TypingIndicator } from '../presence/TypingIndicator.js';
import type { ChatClient } from './connection.js';
import { Composer } from './Composer.js';
import { ConnectionBanner } from './ConnectionBanner.js';
import { MessageList } from './MessageList.js';
import type { ConnectionState, RoomState } from './state.js';

interface Props {
  room: RoomState;
  me: User;
  client: ChatClient;
  connection: ConnectionState;
  /** Messages written and not yet stored, in every room. */
  unsent: number;
  /** How to title it: a DM by the other person's name. */
  label?: string;
  kind?: 'public' | 'private' | 'dm';
  /** Opens the members dialog (private rooms). */
  onMembers?: () => void;
}

/** One room: its messages, who is typing, and the composer. */
export function RoomView({ room, me, client, connection, unsent, label, kind = 'public', onMembers }: Props) {
  const name = room.name;
  const draft = useSyncExternalStore(client.drafts.subscribe, () => client.drafts.get(name));
  const live = room.joined;
  const people = room.users.length;
  const onLoadOlder = useCallback(() => void client.loadOlder(name), [client, name]);
  const onAtBottom = useCallback((atBottom: boolean) => client.setAtBottom(name, atBottom), [client, name]);
  const onDiscard = useCallback((ref: string) => client.discard(name, ref), [client, name]);
  const onEdit = useCallback(
    (ref: string) => {
      client.edit(name, ref);
      document.getElementById('composer-text')?.focus();
    },
    [client, name],
  );
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
        <span className="muted room-meta" data-testid="room-meta">
          {live ? `${people} ${people === 1 ? 'person' : 'people'} here` : people > 0 ? `${people} here when last connected` : 'Not connected'}
        </span>
        {onMembers && (
          <button type="button" className="ghost members-button" onClick={onMembers}>
            Members
          </button>
        )}
      </header>
      <ConnectionBanner connection={connection} unsent={unsent} onRetry={() => client.reconnectNow()} />
      {room.error && !room.joined && connection.status === 'connected' && (
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
        unread={room.unread}
        firstUnread={room.firstUnread}
        onLoadOlder={onLoadOlder}
        onEdit={onEdit}
        onDiscard={onDiscard}
        onAtBottom={onAtBottom}
      />
      <TypingIndicator typing={room.typing} />
      <Composer
        key={`composer-${name}`}
        room={name}
        draft={draft}
        onDraft={(text) => client.drafts.set(name, text)}
        onSend={(text) => client.send(name, text)}
        onTyping={() => client.notifyTyping(name)}
      />
    </section>
  );
}
