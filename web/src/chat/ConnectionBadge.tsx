import type { ConnectionState } from './state.js';

function describe(connection: ConnectionState): { label: string; tone: 'ok' | 'wait' | 'down' } {
  switch (connection.status) {
    case 'connected':
      return { label: 'Online', tone: 'ok' };
    case 'connecting':
      return { label: connection.attempt === 0 ? 'Connecting…' : 'Reconnecting…', tone: 'wait' };
    case 'reconnecting':
      return { label: 'Reconnecting…', tone: 'wait' };
    case 'offline':
      return { label: 'Offline', tone: 'down' };
  }
}

function details(connection: ConnectionState): string {
  switch (connection.status) {
    case 'connected':
      return `Connected to replica ${connection.node} (connection ${connection.connectionId}).`;
    case 'connecting':
      return 'Opening a connection to the server.';
    case 'reconnecting':
      return `Attempt ${connection.attempt}; next try at ${new Date(connection.nextRetryAt).toLocaleTimeString()}.`;
    case 'offline':
      return connection.reason === 'network' ? 'This device has no network.' : 'Signed out.';
  }
}

/**
 * The connection in one word, with the technical details (which replica
 * holds the socket) one click or tap away. What it means for the user's
 * messages is said by the banner over the message list.
 */
export function ConnectionBadge({ connection }: { connection: ConnectionState }) {
  const { label, tone } = describe(connection);
  return (
    <details className="connection">
      <summary
        className={`badge badge-${tone}`}
        data-testid="connection"
        data-status={connection.status}
        data-node={connection.status === 'connected' ? connection.node : undefined}
        aria-label={`Connection: ${label}. Details`}
      >
        <span className="dot" aria-hidden="true" />
        {label}
      </summary>
      <p className="connection-details" data-testid="connection-details">
        {details(connection)}
      </p>
    </details>
  );
}
