import { Fragment, memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { ChatMessage, User } from '@roomcast/server/protocol';
import { avatarColor, initial } from '../presence/PresenceList.js';
import {
  extendDown,
  extendUp,
  initialWindow,
  newestWindow,
  sameWindow,
  trimmed,
  windowRange,
  type MessageWindow,
} from './message-window.js';
import type { HistoryState, PendingSend, SendError } from './state.js';
import { dayLabel, formatClock, formatFull, startOfDay } from './time.js';

interface Props {
  room: string;
  me: User;
  messages: readonly ChatMessage[];
  pending: readonly PendingSend[];
  history: HistoryState;
  /** The join is confirmed: history requests make sense, and pending sends are on their way. */
  joined: boolean;
  /** Messages from others the user has not seen yet (for the "↓ N new" button). */
  unread: number;
  /** Where the "New messages" divider goes. */
  firstUnread?: string;
  onLoadOlder: () => void;
  onEdit: (ref: string) => void;
  onDiscard: (ref: string) => void;
  /** The list is (or is no longer) scrolled to its newest message. */
  onAtBottom: (atBottom: boolean) => void;
}

/** Messages from the same person this close together share one header. */
const GROUP_WINDOW_MS = 5 * 60_000;
/** How close to an edge counts as "at" it, in px. */
const EDGE_PX = 48;

/** A message's place on screen before the list changed above it: its text's distance from the top of the view. */
interface Anchor {
  id: string;
  offset: number;
}

/**
 * The room's messages, oldest at the top, as a window of a few hundred
 * around the reader (message-window.ts), so a room of 10,000 scrolls like a
 * room of 300. Scrolling to the top shows older messages (from memory, else a
 * page from the server) while keeping the reader's place to the pixel; new
 * messages keep the view at the bottom only if the reader was already there,
 * and otherwise count as new behind a "↓ N new" button. Arrow keys move
 * between messages (and show their times).
 */
export function MessageList({ room, me, messages, pending, history, joined, unread, firstUnread, onLoadOlder, onEdit, onDiscard, onAtBottom }: Props) {
  const scroller = useRef<HTMLDivElement>(null);
  const atBottom = useRef(true);
  const [showJump, setShowJump] = useState(false);
  const [view, setView] = useState<MessageWindow>(() => initialWindow(messages, firstUnread));
  const anchor = useRef<Anchor | null>(null);
  const toBottom = useRef(false);
  const pendingCount = useRef(pending.length);
  const placed = useRef(false);
  const { from, to } = windowRange(messages, view);
  const following = view.end === null;

  const measureAnchor = useCallback(() => {
    const element = scroller.current;
    if (element) anchor.current = findAnchor(element);
  }, []);

  /** Shows another part of the room, keeping the reader's place. */
  const changeView = useCallback(
    (next: MessageWindow) => {
      if (sameWindow(next, view)) return;
      measureAnchor();
      setView(next);
    },
    [view, measureAnchor],
  );

  const requestOlder = useCallback(() => {
    if (from > 0) return changeView(extendUp(messages, view));
    if (history.loading || history.exhausted) return;
    measureAnchor();
    onLoadOlder();
  }, [from, messages, view, changeView, history.loading, history.exhausted, measureAnchor, onLoadOlder]);

  const showNewest = useCallback(() => {
    toBottom.current = true;
    if (following) return setView({ ...view });
    setView(newestWindow(messages));
  }, [following, messages, view]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const wrote = pending.length > pendingCount.current;
    pendingCount.current = pending.length;
    if (wrote && !following) {
      // The user just wrote while reading far back: go to the newest, where it is.
      toBottom.current = true;
      setView(newestWindow(messages));
      return;
    }
    const kept = anchor.current;
    if (!placed.current) {
      // First showing: at the "New messages" divider if it is above the fold, else at the bottom.
      placed.current = true;
      const divider = element.querySelector<HTMLElement>('.new-divider');
      element.scrollTop = element.scrollHeight;
      if (divider && divider.getBoundingClientRect().top < element.getBoundingClientRect().top) {
        element.scrollTop += divider.getBoundingClientRect().top - element.getBoundingClientRect().top - 8;
      }
    } else if (wrote || toBottom.current) {
      toBottom.current = false;
      anchor.current = null;
      element.scrollTop = element.scrollHeight;
    } else if (kept && !history.loading) {
      // The list changed above the reader (an older page, a wider or narrower window): put back the text they were at.
      const text = textOf(element, kept.id);
      if (text) element.scrollTop += text.getBoundingClientRect().top - element.getBoundingClientRect().top - kept.offset;
      anchor.current = null;
    } else if (atBottom.current && following) {
      element.scrollTop = element.scrollHeight;
    }
    // Pages and live messages widen the window: bring it back to size on the side away from the reader.
    const readerAtTop = element.scrollTop < (element.scrollHeight - element.clientHeight) / 2;
    const next = trimmed(messages, view, atBottom.current && following ? 'bottom' : readerAtTop ? 'top' : 'bottom');
    if (next) {
      if (!(atBottom.current && following) && !readerAtTop) measureAnchor();
      setView(next);
    }
    updateAtBottom();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [messages, pending, history.loading, view]);

  // A short room does not scroll, so the reader cannot ask for more: ask for them.
  useEffect(() => {
    const element = scroller.current;
    if (!element || !joined || from > 0 || history.loading || history.exhausted || history.error) return;
    if (element.scrollHeight <= element.clientHeight + EDGE_PX) requestOlder();
  }, [messages, history, joined, from, requestOlder]);

  function updateAtBottom() {
    const element = scroller.current;
    if (!element) return;
    const bottom = following && element.scrollHeight - element.scrollTop - element.clientHeight < EDGE_PX;
    setShowJump(!bottom);
    if (bottom === atBottom.current) return;
    atBottom.current = bottom;
    onAtBottom(bottom);
  }

  function onScroll() {
    const element = scroller.current;
    if (!element) return;
    updateAtBottom();
    // While a page is on its way, keep the anchor current: the reader may have moved.
    if (history.loading) measureAnchor();
    if (element.scrollTop < EDGE_PX) requestOlder();
    else if (!following && element.scrollHeight - element.scrollTop - element.clientHeight < EDGE_PX) changeView(extendDown(messages, view));
  }

  const shown = useMemo(() => messages.slice(from, to), [messages, from, to]);
  const now = Date.now();
  return (
    <div className="message-area">
      <div
        className="messages"
        ref={scroller}
        onScroll={onScroll}
        onKeyDown={moveFocus}
        role="log"
        aria-label={`Messages in #${room}`}
        tabIndex={0}
        data-testid="messages"
      >
        <div className="history-edge">
          {from > 0 ? (
            <button type="button" className="link-button" onClick={requestOlder}>
              Show earlier messages
            </button>
          ) : history.exhausted ? (
            <p className="muted">This is the beginning of #{room}.</p>
          ) : history.error ? (
            <p className="field-error">
              Could not load older messages ({history.error}).{' '}
              <button type="button" className="link-button" onClick={onLoadOlder}>
                Try again
              </button>
            </p>
          ) : (
            <button type="button" className="link-button" onClick={requestOlder} disabled={history.loading || !joined}>
              {history.loading ? 'Loading older messages…' : 'Load older messages'}
            </button>
          )}
        </div>
        <ol className="message-items">
          {shown.map((message, i) => {
            const index = from + i;
            const previous = messages[index - 1];
            const newDay = !previous || startOfDay(previous.ts) !== startOfDay(message.ts);
            const isFirstUnread = message.id === firstUnread;
            const grouped =
              !newDay && !isFirstUnread && previous !== undefined && previous.user.id === message.user.id && message.ts - previous.ts < GROUP_WINDOW_MS;
            return (
              <Fragment key={message.id}>
                {newDay && (
                  <li className="day-divider" aria-hidden="true">
                    <span>{dayLabel(message.ts, now)}</span>
                  </li>
                )}
                {isFirstUnread && (
                  <li className="new-divider" data-testid="new-divider">
                    <span>New messages</span>
                  </li>
                )}
                <MessageItem message={message} mine={message.user.id === me.id} grouped={grouped} />
              </Fragment>
            );
          })}
          {following &&
            pending.map((send) => <PendingItem key={send.ref} send={send} me={me} joined={joined} onEdit={onEdit} onDiscard={onDiscard} />)}
        </ol>
        {!following && (
          <div className="history-edge">
            <button type="button" className="link-button" data-testid="show-later" onClick={() => changeView(extendDown(messages, view))}>
              Show later messages
            </button>
          </div>
        )}
      </div>
      {showJump && (unread > 0 || !following) && (
        <button type="button" className="jump-button" data-testid="jump-to-new" onClick={showNewest}>
          <span aria-hidden="true">↓</span> {unread > 0 ? `${unread} new` : 'Newest'}
        </button>
      )}
    </div>
  );
}

/** The first message whose text is (at least partly) in view, and where its text is. */
function findAnchor(element: HTMLElement): Anchor | null {
  const top = element.getBoundingClientRect().top;
  for (const item of element.querySelectorAll<HTMLElement>('li[data-id]')) {
    const text = item.querySelector<HTMLElement>('.text');
    const box = text?.getBoundingClientRect();
    if (!box || box.bottom <= top) continue;
    return { id: item.dataset.id!, offset: box.top - top };
  }
  return null;
}

function textOf(element: HTMLElement, id: string): HTMLElement | null {
  return element.querySelector<HTMLElement>(`li[data-id="${CSS.escape(id)}"] .text`);
}

/** Arrow keys, Home and End move the focus between messages; a focused message shows its time. */
function moveFocus(event: KeyboardEvent<HTMLDivElement>) {
  const keys = ['ArrowUp', 'ArrowDown', 'Home', 'End'];
  if (!keys.includes(event.key)) return;
  const items = [...event.currentTarget.querySelectorAll<HTMLElement>('li[data-testid="message"]')];
  if (items.length === 0) return;
  const current = items.indexOf(document.activeElement as HTMLElement);
  let next: number;
  if (event.key === 'Home') next = 0;
  else if (event.key === 'End') next = items.length - 1;
  else if (current === -1) next = items.length - 1;
  else next = Math.min(items.length - 1, Math.max(0, current + (event.key === 'ArrowUp' ? -1 : 1)));
  // From the list itself, the first arrow press picks the newest message (Up) and otherwise scrolls as usual.
  if (current === -1 && event.key === 'ArrowDown') return;
  event.preventDefault();
  items[next]!.focus();
}

const MessageItem = memo(function MessageItem({ message, mine, grouped }: { message: ChatMessage; mine: boolean; grouped: boolean }) {
  return (
    <li
      className={`message${grouped ? ' grouped' : ''}${mine ? ' mine' : ''}`}
      data-testid="message"
      data-id={message.id}
      data-status="sent"
      tabIndex={-1}
    >
      <Avatar user={message.user} hidden={grouped} />
      <div className="message-body">
        {grouped ? (
          // Same author as above: shown once on screen, but said for every message to a screen reader.
          <div className="message-meta grouped-meta">
            <span className="author visually-hidden">{message.user.name}</span>
            <Time ts={message.ts} compact />
          </div>
        ) : (
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
    </li>
  );
});

/** Why the server refused a message for good, in words. */
export function refusalText(error: SendError | undefined): string {
  if (!error) return 'The server refused it.';
  switch (error.code) {
    case 'too_large':
    case 'too_long':
      return 'It is too long.';
    case 'forbidden':
      return 'You may not post in this room.';
    case 'not_found':
      return 'This room is gone.';
    default:
      return error.message ? `${error.message}.` : 'The server refused it.';
  }
}

function PendingItem({
  send,
  me,
  joined,
  onEdit,
  onDiscard,
}: {
  send: PendingSend;
  me: User;
  joined: boolean;
  onEdit: (ref: string) => void;
  onDiscard: (ref: string) => void;
}) {
  const failed = send.status === 'failed';
  // A refusal that may pass is retried by itself; only a server problem is worth a word.
  const trouble = !failed && send.error !== undefined && send.error.code !== 'rate_limited';
  const status = failed ? 'Not sent' : !joined ? 'Unsent' : trouble ? 'Retrying…' : 'Sending…';
  return (
    <li className={`message mine ${send.status}`} data-testid="message" data-status={send.status} data-ref={send.ref} tabIndex={-1}>
      <Avatar user={me} />
      <div className="message-body">
        <div className="message-meta">
          <span className="author">{me.name}</span>
          <span className="status" data-testid="send-status">
            {status}
          </span>
        </div>
        <p className="text" data-testid="message-text">
          {send.text}
        </p>
        {failed && (
          <p className="send-error" role="alert">
            Not sent: {refusalText(send.error)}{' '}
            <button type="button" className="link-button" onClick={() => onEdit(send.ref)}>
              Edit
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
