/**
 * The Socket.IO peer (peer/socketio-server.ts) as a load-test transport.
 *
 * It speaks Engine.IO 4 / Socket.IO 5 over the same `ws` client that the
 * Roomcast transport uses (websocket transport only, default namespace), so
 * the load generator costs the same per frame for both stacks and CPU is
 * compared on equal terms. The packets used:
 *   server "0{...}" open, "2" ping (we answer "3");
 *   "40{auth}" connect / "40{sid}" connected / "44{...}" refused;
 *   "42[event,arg]" event, "42<id>[event,arg]" event wanting an ack, "43<id>[arg]" ack.
 */
import WebSocket from 'ws';
import { closeSocket, ConnectError, openWelcomed, postLogin, readMessageFrame, toWsUrl, type ChatConnection, type ConnectionHandlers, type Transport } from './transport.js';

/** A message as the peer broadcasts it (the same fields as a Roomcast message frame). */
interface PeerMessage {
  room: string;
  id: string;
  text: string;
  ref?: string;
}

const CLOSED = 'closed';
const MESSAGE_EVENT = '42["message",';

type AckArg = { id?: string; error?: string; ok?: boolean; truncated?: boolean };

export class SocketIoTransport implements Transport {
  readonly name = 'socketio';
  /** The peer numbers messages per replica: ids are not comparable across replicas. */
  readonly ordered = false;

  /** `path` is the Socket.IO path the peer serves (behind our nginx: /ws). */
  constructor(
    readonly baseUrl: string,
    private readonly path = '/ws',
  ) {}

  login(name: string): Promise<string> {
    return postLogin(this.baseUrl, name);
  }

  /** The peer's token is the user as base64url JSON (see peer/socketio-server.ts). */
  mint(name: string): string {
    return Buffer.from(JSON.stringify({ id: `u-${name}`, name })).toString('base64url');
  }

  connect(token: string, handlers: ConnectionHandlers, timeoutMs: number): Promise<ChatConnection> {
    // No trailing slash: our nginx routes exactly /ws, and the peer runs with addTrailingSlash: false.
    const url = toWsUrl(this.baseUrl, `${this.path}?EIO=4&transport=websocket`);
    return openWelcomed(
      url,
      timeoutMs,
      (ws) => new SocketIoConnection(ws, handlers, token),
      (conn, fail) => {
        conn.onRefused = (message) => fail(new ConnectError('refused', message));
      },
    );
  }
}

class SocketIoConnection implements ChatConnection {
  node = '';
  onWelcome: (() => void) | undefined;
  onRefused: ((message: string) => void) | undefined;
  private closedByUs = false;
  private nextAck = 0;
  private readonly acks = new Map<number, (arg: AckArg) => void>();

  constructor(
    private readonly ws: WebSocket,
    private readonly handlers: ConnectionHandlers,
    private readonly token: string,
  ) {
    ws.on('message', (data: Buffer) => this.onPacket(data.toString()));
    ws.on('close', (code) => {
      // Pending joins fail; pending sends are left to onClose (their outcome is unknown, not refused).
      for (const ack of this.acks.values()) ack({ error: CLOSED });
      this.acks.clear();
      if (this.onWelcome === undefined && !this.closedByUs) handlers.onClose(code);
    });
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  join(room: string, _since: string | undefined): Promise<{ truncated: boolean }> {
    return new Promise((resolve, reject) => {
      this.emit('join', { room }, (arg) => {
        if (arg.error) reject(new ConnectError(`join_${arg.error}`, arg.error));
        else resolve({ truncated: false });
      });
    });
  }

  send(room: string, text: string, ref: string): void {
    this.emit('send', { room, text, ref }, (arg) => {
      if (arg.id !== undefined) this.handlers.onAck(ref, arg.id);
      else if (arg.error !== CLOSED) this.handlers.onError(arg.error ?? 'unknown', ref);
    });
  }

  typing(room: string): void {
    this.emit('typing', { room });
  }

  close(): Promise<void> {
    this.closedByUs = true;
    return closeSocket(this.ws);
  }

  private emit(event: string, arg: object, ack?: (arg: AckArg) => void): void {
    if (this.ws.readyState !== WebSocket.OPEN) {
      ack?.({ error: CLOSED });
      return;
    }
    let id = '';
    if (ack) {
      const n = this.nextAck++;
      this.acks.set(n, ack);
      id = String(n);
    }
    this.ws.send(`42${id}${JSON.stringify([event, arg])}`);
  }

  private onPacket(p: string): void {
    const engine = p.charCodeAt(0);
    if (engine === 50 /* '2' ping */) {
      this.ws.send('3');
      return;
    }
    if (engine === 48 /* '0' open */) {
      this.ws.send(`40${JSON.stringify({ token: this.token })}`);
      return;
    }
    if (engine !== 52 /* '4' message */) return;
    const kind = p.charCodeAt(1);
    if (kind === 50 /* '2' event */) {
      // 42["message",{…}]: the frame the generator receives most, read without JSON.parse.
      const message = p.startsWith(MESSAGE_EVENT) ? readMessageFrame(p, MESSAGE_EVENT.length) : undefined;
      if (message) {
        this.handlers.onMessage(message.room, message.id, message.text, message.ref);
        return;
      }
      let event: [string, unknown];
      try {
        event = JSON.parse(p.slice(p.indexOf('['))) as [string, unknown];
      } catch {
        this.handlers.onError('client_bad_json', undefined);
        return;
      }
      this.onEvent(event[0], event[1]);
    } else if (kind === 51 /* '3' ack */) {
      const bracket = p.indexOf('[');
      const id = Number(p.slice(2, bracket));
      const ack = this.acks.get(id);
      if (!ack) return;
      this.acks.delete(id);
      const args = JSON.parse(p.slice(bracket)) as AckArg[];
      ack(args[0] ?? {});
    } else if (kind === 52 /* '4' connect_error */) {
      this.onRefused?.(p.slice(2));
    }
    // '40' (connected) needs nothing: the peer greets with a "welcome" event next.
  }

  private onEvent(name: string, arg: unknown): void {
    if (name === 'message') {
      const m = arg as PeerMessage;
      this.handlers.onMessage(m.room, m.id, m.text, m.ref);
    } else if (name === 'welcome') {
      this.node = String((arg as { node?: unknown }).node ?? '');
      const cb = this.onWelcome;
      this.onWelcome = undefined;
      cb?.();
    } else if (name === 'error') {
      const e = arg as { code?: string; ref?: string };
      this.handlers.onError(e.code ?? 'unknown', e.ref);
    } else {
      this.handlers.onOther(name);
    }
  }
}
