/** The Roomcast wire contract (shared/PROTOCOL.md) as a load-test transport, on `ws`. */
import { WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '@roomcast/server/protocol';
import WebSocket from 'ws';
import type { ClientFrame, ServerFrame } from '../../server/src/protocol.js';
import { closeSocket, ConnectError, mintJwt, openWelcomed, postLogin, readMessageFrame, toWsUrl, type ChatConnection, type ConnectionHandlers, type Transport } from './transport.js';

export class RoomcastTransport implements Transport {
  readonly name = 'roomcast';

  /**
   * `baseUrl` is the HTTP origin (http://host:port); the socket is at /ws.
   * With the replicas' `secret` the tool can mint tokens itself (see Transport.mint).
   * `ordered` is false for a server that speaks the contract without its
   * ordering promise (the floor peer).
   */
  constructor(
    readonly baseUrl: string,
    private readonly secret?: string,
    readonly ordered = true,
  ) {
    if (secret) this.mint = (name: string): string => mintJwt(secret, name);
  }

  mint?: (name: string) => string;

  login(name: string): Promise<string> {
    return postLogin(this.baseUrl, name);
  }

  /** The token travels in the Sec-WebSocket-Protocol header (see tokenProtocols), not in the URL. */
  connect(token: string, handlers: ConnectionHandlers, timeoutMs: number): Promise<ChatConnection> {
    const url = toWsUrl(this.baseUrl, '/ws');
    return openWelcomed(url, timeoutMs, (ws) => new RoomcastConnection(ws, handlers), undefined, tokenProtocols(token));
  }
}

/**
 * What a client offers (v2): `roomcast`, which the server selects, and
 * `roomcast.bearer.<token>`, which carries the token out of the URL (URLs end
 * up in proxy logs). A JWT is base64url and dots, all valid in a protocol name.
 */
export function tokenProtocols(token: string): string[] {
  return [WS_SUBPROTOCOL, `${WS_TOKEN_PROTOCOL_PREFIX}${token}`];
}

class RoomcastConnection implements ChatConnection {
  node = '';
  onWelcome: (() => void) | undefined;
  private closedByUs = false;
  private readonly joins = new Map<string, { resolve: (v: { truncated: boolean }) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly ws: WebSocket,
    private readonly handlers: ConnectionHandlers,
  ) {
    ws.on('message', (data: Buffer) => this.onFrame(data));
    ws.on('close', (code) => {
      for (const join of this.joins.values()) join.reject(new ConnectError(`close_${code}`, 'closed while joining'));
      this.joins.clear();
      if (this.onWelcome === undefined && !this.closedByUs) handlers.onClose(code);
    });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  join(room: string, since: string | undefined): Promise<{ truncated: boolean }> {
    return new Promise((resolve, reject) => {
      this.joins.set(room, { resolve, reject });
      // The ref lets an error frame refusing the join fail this promise instead of a timeout.
      const ref = `join:${room}`.slice(0, 64);
      this.write(since === undefined ? { type: 'join', room, ref } : { type: 'join', room, since, ref });
    });
  }

  send(room: string, text: string, ref: string): void {
    this.write({ type: 'send', room, text, ref });
  }

  typing(room: string): void {
    this.write({ type: 'typing', room });
  }

  close(): Promise<void> {
    this.closedByUs = true;
    return closeSocket(this.ws);
  }

  private write(frame: ClientFrame): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(frame));
  }

  private onFrame(data: Buffer): void {
    const text = data.toString();
    const message = readMessageFrame(text);
    if (message) {
      this.handlers.onMessage(message.room, message.id, message.text, message.ref);
      return;
    }
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      this.handlers.onError('client_bad_json', undefined);
      return;
    }
    switch (frame.type) {
      case 'message':
        this.handlers.onMessage(frame.room, frame.id, frame.text, frame.ref);
        return;
      case 'welcome': {
        this.node = frame.node;
        const cb = this.onWelcome;
        this.onWelcome = undefined;
        cb?.();
        return;
      }
      case 'joined': {
        const join = this.joins.get(frame.room);
        this.joins.delete(frame.room);
        join?.resolve({ truncated: frame.truncated });
        return;
      }
      case 'error':
        if (frame.ref?.startsWith('join:')) {
          const room = frame.ref.slice(5);
          this.joins.get(room)?.reject(new ConnectError(`join_${frame.code}`, frame.message));
          this.joins.delete(room);
        }
        this.handlers.onError(frame.code, frame.ref);
        return;
      default:
        this.handlers.onOther(frame.type);
    }
  }
}
