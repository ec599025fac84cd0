import type { ConnectionState } from './state.js';

function describe(connection: ConnectionState): { label: string; tone: 'ok' | 'wait' | 'down' } {
  switch (connection.status) {
    case 'connected':
      return { label: `Connected to ${connection.node}`, tone: 'ok' };
    case 'connecting':
      return { label: connection.attempt === 0 ? 'Connecting…' : 'Reconnecting…', tone: 'wait' };
    case 'reconnecting':
      return { label: 'Reconnecting…', tone: 'wait' };
    case 'offline':
      return { label: 'Offline', tone: 'down' };
  }
}

/** Which replica holds our socket, or that we are trying to get one back. */
export function ConnectionBadge({ connection, onRetry }: { connection: ConnectionState; onRetry: () => void }) {
  const { label, tone } = describe(connection);
  const node = connection.status === 'connected' ? connection.node : undefined;
  const title =
    connection.status === 'reconnecting'
      ? `Attempt ${connection.attempt}; next try at ${new Date(connection.nextRetryAt).toLocaleTimeString()}`
      : undefined;
  return (
    <div className="connection">
      <span
        className={`badge badge-${tone}`}
        data-testid="connection"
        data-status={connection.status}
        data-node={node}
        role="status"
        title={title}
      >
        <span className="dot" aria-hidden="true" />
        {label}
      </span>
      {connection.status === 'reconnecting' && connection.attempt > 1 && (
        <button type="button" className="link-button" onClick={onRetry}>
          Retry now
        </button>
      )}
    </div>
  );
}
