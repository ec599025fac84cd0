import { Fragment, useCallback, useEffect, useLayoutEffect, useRef } from 'react';
import type { ChatMessage, User } from '@roomcast/server/protocol';
import { avatarColor, initial } from '../presence/PresenceList.js';
import type { HistoryState, PendingSend } from './state.js';
import { dayLabel, formatClock, formatFull, startOfDay } from './time.js';

interface Props {
  room: string;
  me: User;
  messages: readonly ChatMessage[];
  pending: readonly PendingSend[];
  history: HistoryState;
  /** The join is confirmed: history requests now make sense. */
  joined: boolean;
  onLoadOlder: () => void;
  onRetry: (ref: string) => void;
  onDiscard: (ref: string) => void;
}

/** Messages from the same person this close together share one header. */
const GROUP_WINDOW_MS = 5 * 60_000;
/** How close to an edge counts as "at" it, in px. */
const EDGE_PX = 48;

/**
 * The room's messages, oldest at the top. Scrolling to the top loads older
 * history while keeping the reader's place; new messages keep the view at the
 * bottom only if the reader was already there.
 */
export function MessageList({ room, me, messages, pending, history, joined, onLoadOlder, onRetry, onDiscard }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  /** The message that was first before an older page came in, and its distance from the top of the view. */
  const anchor = useRef<{ id: string; offset: number } | null>(null);

  const requestOlder = useCallback(() => {
    const element = scroller.current;
    if (!element || history.loading || history.exhausted) return;
    const first = messages[0];
    if (first) {
      const node = element.querySelector<HTMLElement>(`[data-id="${first.id}"]`);
      if (node) anchor.current = { id: first.id, offset: node.offsetTop - element.scrollTop };
    }
    onLoadOlder();
  }, [history.loading, history.exhausted, messages, onLoadOlder]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const kept = anchor.current;
    if (kept && messages[0]?.id !== kept.id) {
      const node = element.querySelector<HTMLElement>(`[data-id="${kept.id}"]`);
      if (node) element.scrollTop = node.offsetTop - kept.offset;
      anchor.current = null;
    } else if (atBottom.current) {
      element.scrollTop = element.scrollHeight;
    }
  }, [messages, pending]);

  // A short room does not scroll, so the reader cannot ask for more: ask for them.
  useEffect(() => {
    const element = scroller.current;
    if (!element || !joined || history.loading || history.exhausted || history.error) return;
    if (element.scrollHeight <= element.clientHeight + EDGE_PX) requestOlder();
  }, [messages, history, joined, requestOlder]);

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    atBottom.current = element.scrollHeight - element.scrollTop - element.clientHeight < EDGE_PX;
    if (element.scrollTop < EDGE_PX) requestOlder();
  }

  const now = Date.now();
  return (
    <div
      className="messages"
      ref={scroller}
      onScroll={onScroll}
      role="log"
      aria-label={`Messages in #${room}`}
      tabIndex={0}
      data-testid="messages"
    >
      <div className="history-edge">
        {history.exhausted ? (
          <p className="muted">This is the beginning of #{room}.</p>
        ) : history.error ? (
          <p className="field-error">
            Could not load older messages ({history.error}).{' '}
            <button type="button" className="link-button" onClick={onLoadOlder}>
              Try again
            </button>
          </p>
        ) : (
          <button type="button" className="link-button" onClick={requestOlder} disabled={history.loading}>
            {history.loading ? 'Loading older messages…' : 'Load older messages'}
          </button>
        )}
      </div>
      <ol className="message-items">
        {messages.map((message, index) => {
          const previous = messages[index - 1];
          const newDay = !previous || startOfDay(previous.ts) !== startOfDay(message.ts);
          const grouped =
            !newDay && previous !== undefined && previous.user.id === message.user.id && message.ts - previous.ts < GROUP_WINDOW_MS;
          return (
            <Fragment key={message.id}>
              {newDay && (
                <li className="day-divider" aria-hidden="true">
                  <span>{dayLabel(message.ts, now)}</span>
                </li>
              )}
              <MessageItem message={message} mine={message.user.id === me.id} grouped={grouped} />
            </Fragment>
          );
        })}
        {pending.map((send) => (
          <PendingItem key={send.ref} send={send} me={me} onRetry={onRetry} onDiscard={onDiscard} />
        ))}
      </ol>
    </div>
  );
}

function MessageItem({ message, mine, grouped }: { message: ChatMessage; mine: boolean; grouped: boolean }) {
  return (
    <li
      className={`message${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}`}
      data-testid="message"
      data-id={message.id}
      data-status="sent"
    >
      <Avatar user={message.user} hidden={grouped} />
      <div className="message-body">
        {!grouped && (
          <div className="message-meta">
            <span className="author">{message.user.name}</span>
            <Time ts={message.ts} />
          </div>
        )}
        {/* Text is a React text node: never parsed as HTML. */}
        <p className="text" data-testid="message-text">
          {message.text}
        </p>
      </div>
      {grouped && <Time ts={message.ts} compact />}
    </li>
  );
}

function PendingItem({
  send,
  me,
  onRetry,
  onDiscard,
}: {
  send: PendingSend;
  me: User;
  onRetry: (ref: string) => void;
  onDiscard: (ref: string) => void;
}) {
  const failed = send.status === 'failed';
  return (
    <li className={`message mine ${send.status}`} data-testid="message" data-status={send.status}>
      <Avatar user={me} />
      <div className="message-body">
        <div className="message-meta">
          <span className="author">{me.name}</span>
          <span className="status">{failed ? 'Not sent' : 'Sending…'}</span>
        </div>
        <p className="text" data-testid="message-text">
          {send.text}
        </p>
        {failed && (
          <p className="send-error" role="alert">
            {send.error?.message ?? 'The server refused this message.'}
            {send.error?.code && <span className="muted"> ({send.error.code})</span>}{' '}
            <button type="button" className="link-button" onClick={() => onRetry(send.ref)}>
              Retry
            </button>{' '}
            <button type="button" className="link-button" onClick={() => onDiscard(send.ref)}>
              Discard
            </button>
          </p>
        )}
      </div>
    </li>
  );
}

function Avatar({ user, hidden = false }: { user: User; hidden?: boolean }) {
  if (hidden) return <span className="avatar-space" aria-hidden="true" />;
  return (
    <span className="avatar" aria-hidden="true" style={{ background: avatarColor(user.id) }}>
      {initial(user.name)}
    </span>
  );
}

function Time({ ts, compact = false }: { ts: number; compact?: boolean }) {
  return (
    <time className={compact ? 'time compact' : 'time'} dateTime={new Date(ts).toISOString()} title={formatFull(ts)}>
      {formatClock(ts)}
    </time>
  );
}
