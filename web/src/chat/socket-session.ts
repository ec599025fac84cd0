import { CloseCode, WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX, type ClientFrame, type ServerFrame } from '@roomcast/server/protocol';
import type { ChatApi } from './api.js';
import { backoffDelay, type BackoffOptions } from './backoff.js';
import { Liveness } from './liveness.js';
import type { NetworkEvents, SocketConstructor, SocketLike } from './socket.js';
import type { ConnectionState } from './state.js';
import type { RefMaker } from './store.js';
import { isTokenExpired } from './token.js';

export interface SocketSessionOptions {
  WebSocket: SocketConstructor;
  wsBase: string;
  backoff: BackoffOptions;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  random: () => number;
  now: () => number;
}

/** What the session tells the rest of the client. */
export interface SessionHooks {
  /** The token to connect with; null when signed out. */
  token(): string | null;
  /** Every frame the server sends, parsed (after the session applied `welcome`). */
  onFrame(frame: ServerFrame): void;
  onConnection(connection: ConnectionState): void;
  /** The socket is gone: nothing joined on it is joined any more. */
  onDropped(): void;
  /** The server will not take this token (expired, closed with 1008, refused upgrade + HTTP 401). */
  onTokenRefused(): void;
}

/**
 * One socket at a time, and getting it back: connect with the token as a
 * subprotocol, reconnect with exponential backoff and full jitter, wait while
 * the device is offline, and give up on a socket that stops answering pings.
 * It knows nothing about rooms or messages: frames go to `hooks.onFrame`.
 */
export class SocketSession {
  private socket: SocketLike | null = null;
  /** Bumped for every socket, so events of an abandoned socket are ignored. */
  private socketGeneration = 0;
  private attempt = 0;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly liveness: Liveness;
  private connection: ConnectionState = { status: 'offline', reason: 'signed_out' };
  private listening = false;

  constructor(
    private readonly options: SocketSessionOptions,
    private readonly hooks: SessionHooks,
    private readonly api: ChatApi,
    private readonly refs: RefMaker,
    private readonly network: NetworkEvents | undefined,
  ) {
    this.liveness = new Liveness(options.pingIntervalMs, options.pongTimeoutMs);
  }

  /** Which socket frames are written on; changes with every new socket. */
  get generation(): number {
    return this.socketGeneration;
  }

  get connected(): boolean {
    return this.connection.status === 'connected';
  }

  get hasSocket(): boolean {
    return this.socket !== null;
  }

  listen(): void {
    if (this.listening) return;
    this.listening = true;
    this.network?.addEventListener('online', this.handleOnline);
    this.network?.addEventListener('offline', this.handleOffline);
  }

  /** Closes the socket, stops retrying and listening. */
  stop(): void {
    this.listening = false;
    this.network?.removeEventListener('online', this.handleOnline);
    this.network?.removeEventListener('offline', this.handleOffline);
    this.dropSocket();
    this.clearRetry();
  }

  /** Ends the session's socket for good (logout, expiry); `connect` starts over. */
  end(): void {
    this.clearRetry();
    this.dropSocket();
    this.attempt = 0;
  }

  connect(): void {
    this.clearRetry();
    this.dropSocket();
    const token = this.hooks.token();
    if (!token) return;
    if (isTokenExpired(token, this.options.now())) {
      this.hooks.onTokenRefused();
      return;
    }
    if (this.network?.onLine === false) {
      this.setConnection({ status: 'offline', reason: 'network' });
      return;
    }
    const generation = ++this.socketGeneration;
    let opened = false;
    // The token rides in a subprotocol, not the URL (URLs end up in proxy logs); the server selects `roomcast`.
    const socket = new this.options.WebSocket(`${this.options.wsBase}/ws`, [WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX + token]);
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
    };
    socket.onmessage = (event) => {
      if (generation === this.socketGeneration && typeof event.data === 'string') this.handleFrame(event.data);
    };
    socket.onclose = (event) => {
      if (generation === this.socketGeneration) this.handleClose(event.code, opened);
    };
    socket.onerror = () => {
      // A close event always follows; that is where we decide what to do.
    };
    this.setConnection({ status: 'connecting', attempt: this.attempt });
  }

  /** Skips the backoff wait (a "retry now" button, or the page coming back). */
  reconnectNow(): void {
    if (!this.hooks.token() || this.socket) return;
    this.connect();
  }

  /** Writes a frame if the socket is open and welcomed; says whether it did. */
  write(frame: ClientFrame): boolean {
    const socket = this.socket;
    if (!socket || socket.readyState !== 1 || !this.connected) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  /** A pong that answers a liveness ping. */
  pong(): void {
    this.liveness.pong();
  }

  private handleFrame(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    if (typeof frame !== 'object' || frame === null) return;
    if (frame.type === 'welcome') {
      this.attempt = 0;
      this.setConnection({ status: 'connected', node: frame.node, connectionId: frame.connectionId });
      this.liveness.start(
        () => this.write({ type: 'ping', ref: this.refs.next('p') }),
        () => this.handleClose(1006, true),
      );
    }
    this.hooks.onFrame(frame);
  }

  /** Forgets the current socket: its late events are ignored from now on. */
  private dropSocket(): void {
    this.socketGeneration++;
    this.liveness.stop();
    const socket = this.socket;
    this.socket = null;
    if (socket) {
      socket.onopen = socket.onmessage = socket.onclose = socket.onerror = null;
      try {
        socket.close(CloseCode.normal);
      } catch {
        // Closing a socket that never opened may throw in some implementations.
      }
    }
    this.hooks.onDropped();
  }

  private handleClose(code: number, opened: boolean): void {
    this.dropSocket();
    if (code === CloseCode.policyViolation) {
      this.hooks.onTokenRefused();
      return;
    }
    const token = this.hooks.token();
    if (!token) return;
    this.scheduleRetry();
    if (!opened) {
      // A browser cannot see the 401 of a refused upgrade; ask over HTTP whether the token is the problem.
      void this.api.tokenAccepted(token).then((accepted) => {
        if (accepted === false && this.hooks.token() === token) this.hooks.onTokenRefused();
      });
    }
  }

  private scheduleRetry(): void {
    this.clearRetry();
    if (this.network?.onLine === false) {
      this.setConnection({ status: 'offline', reason: 'network' });
      return;
    }
    this.attempt++;
    const delay = backoffDelay(this.attempt, this.options.backoff, this.options.random);
    this.setConnection({ status: 'reconnecting', attempt: this.attempt, nextRetryAt: this.options.now() + delay });
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  private readonly handleOnline = (): void => {
    if (this.hooks.token() && !this.socket) {
      this.attempt = 0;
      this.connect();
    }
  };

  private readonly handleOffline = (): void => {
    if (!this.hooks.token()) return;
    this.clearRetry();
    this.dropSocket();
    this.setConnection({ status: 'offline', reason: 'network' });
  };

  /** Also used to say "signed out" when the session ends. */
  setConnection(connection: ConnectionState): void {
    this.connection = connection;
    this.hooks.onConnection(connection);
  }
}
