import { useEffect, useRef, useState } from 'react';
import type { ConnectionState } from './state.js';

interface Props {
  connection: ConnectionState;
  /** Messages written and not yet stored by the server (all rooms). */
  unsent: number;
  onRetry: () => void;
}

/** How long "Back online" stays. */
const BACK_ONLINE_MS = 4000;

export type BannerState = 'connecting' | 'offline' | 'reconnecting' | 'back-online' | null;

/**
 * Over the message list: what the connection means for the conversation.
 * Offline and reconnecting say that what is shown is the last known state
 * and that messages written now wait on this device; "Back online" says so
 * for a moment once the socket is back. Silent while all is well.
 */
export function ConnectionBanner({ connection, unsent, onRetry }: Props) {
  const state = useBannerState(connection);
  const now = useTicker(connection.status === 'reconnecting');
  if (state === null) return null;

  const unsentText = unsent > 0 ? `${unsent} unsent ${unsent === 1 ? 'message' : 'messages'}` : null;
  let text: string;
  let detail: string | null = null;
  let retry = false;
  switch (state) {
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'offline':
      text = 'You are offline.';
      detail = 'Showing the conversation as it was. Messages you write are kept on this device and sent when you are back.';
      retry = true;
      break;
    case 'reconnecting': {
      const seconds = connection.status === 'reconnecting' ? Math.max(0, Math.ceil((connection.nextRetryAt - now) / 1000)) : 0;
      text = connection.status === 'reconnecting' && seconds > 0 ? `Cannot reach the server. Trying again in ${seconds} s.` : 'Cannot reach the server. Trying again…';
      detail = 'Messages you write are kept on this device and sent once it answers.';
      retry = true;
      break;
    }
    case 'back-online':
      text = 'Back online.';
      detail = unsentText ? 'Sending what you wrote meanwhile…' : null;
      break;
  }

  return (
    <div className={`connection-banner connection-banner-${state}`} data-testid="connection-banner" data-state={state} role="status">
      <p>
        <strong>{text}</strong>
        {detail && <span> {detail}</span>}
        {unsentText && (
          <span className="unsent-count" data-testid="unsent-count">
            {' '}
            {unsentText}.
          </span>
        )}
      </p>
      {retry && (
        <button type="button" className="banner-button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}

/** The banner's state: the connection's, plus "back online" for a moment after it returns. */
function useBannerState(connection: ConnectionState): BannerState {
  const wasDown = useRef(false);
  const [backOnline, setBackOnline] = useState(false);
  const status = connection.status;
  const connected = status === 'connected';

  useEffect(() => {
    if (!connected) {
      // The first connect of the page (or after signing in) does not count as being down: it was never up.
      if (isDown(connection)) wasDown.current = true;
      setBackOnline(false);
      return;
    }
    if (!wasDown.current) return;
    wasDown.current = false;
    setBackOnline(true);
    const timer = setTimeout(() => setBackOnline(false), BACK_ONLINE_MS);
    return () => clearTimeout(timer);
  }, [connected, status, connection]);

  switch (status) {
    case 'connected':
      return backOnline ? 'back-online' : null;
    case 'connecting':
      return connection.attempt === 0 && !wasDown.current ? 'connecting' : 'reconnecting';
    case 'reconnecting':
      return 'reconnecting';
    case 'offline':
      return connection.reason === 'network' ? 'offline' : null;
  }
}

function isDown(connection: ConnectionState): boolean {
  switch (connection.status) {
    case 'reconnecting':
      return true;
    case 'connecting':
      return connection.attempt > 0;
    case 'offline':
      return connection.reason === 'network';
    case 'connected':
      return false;
  }
}

/** The time now, once a second while `running` (for the countdown). */
function useTicker(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}
