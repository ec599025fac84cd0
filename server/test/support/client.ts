/**
 * A small typed WebSocket client for the integration tests: every frame the
 * server sends is kept (`received`, for order checks) and queued (`next`, to
 * wait for one event without sleeping).
 */
import { WebSocket } from 'ws';
import type {
  ChatMessage,
  ErrorFrame,
  JoinedFrame,
  PongFrame,
  PresenceFrame,
  ServerFrame,
  WelcomeFrame,
} from '../../src/protocol.js';
import { WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX } from '../../src/protocol.js';

export interface CloseInfo {
  code: number;
  reason: string;
}

export interface Refusal {
  status: number;
  body: string;
}

export type SendOutcome = ChatMessage | ErrorFrame;

export const isMessage = (f: ServerFrame): f is ChatMessage => f.type === 'message';
export const isError = (f: ServerFrame): f is ErrorFrame => f.type === 'error';
export const isPresence = (f: ServerFrame): f is PresenceFrame => f.type === 'presence';

let refs = 0;
/** A ref no other frame of this test run uses. */
export const newRef = (label = 'r'): string => `${label}-${++refs}`;

export class TestClient {
  /** Every frame received, in order. */
  readonly received: ServerFrame[] = [];
  /** Frames that break the contract (binary, not JSON): tests assert this stays empty. */
  readonly violations: string[] = [];
  /** Frames not yet taken by `next`. */
  private readonly queue: ServerFrame[] = [];
  private wake: Array<() => void> = [];
  closeInfo: CloseInfo | undefined;
  readonly closed: Promise<CloseInfo>;
  welcome!: WelcomeFrame;

  private constructor(
    readonly ws: WebSocket,
    readonly label: string,
  ) {
    ws.on('message', (data, isBinary) => {
      const text = Array.isArray(data) ? Buffer.concat(data).toString() : Buffer.from(data as ArrayBuffer).toString();
      let frame: ServerFrame;
      try {
        if (isBinary) throw new Error('binary frame');
        frame = JSON.parse(text) as ServerFrame;
      } catch (err) {
        this.violations.push(`${(err as Error).message}: ${text.slice(0, 200)}`);
        return;
      }
      this.received.push(frame);
      this.queue.push(frame);
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeInfo = { code, reason: reason.toString() };
        this.notify();
        resolve(this.closeInfo);
      });
    });
    // Errors end in 'close'; without a listener they would crash the test process.
    ws.on('error', () => undefined);
  }

  /**
   * Opens a socket and waits for its welcome frame. The token goes in the URL
   * (v1, legacy) unless `inProtocol`: then in the Sec-WebSocket-Protocol header.
   */
  static async connect(url: string, token: string, label = 'client', timeoutMs = 10_000, inProtocol = false): Promise<TestClient> {
    const ws = inProtocol
      ? new WebSocket(url, [WS_SUBPROTOCOL, WS_TOKEN_PROTOCOL_PREFIX + token])
      : new WebSocket(`${url}?token=${encodeURIComponent(token)}`);
    const client = new TestClient(ws, label);
    const refused = new Promise<never>((_, reject) => {
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`${label}: upgrade refused with HTTP ${res.statusCode}`)),
      );
    });
    client.welcome = await Promise.race([
      client.next<WelcomeFrame>((f) => f.type === 'welcome', timeoutMs, 'the welcome frame'),
      refused,
    ]);
    return client;
  }

  /** Tries to open a socket that the server must refuse during the upgrade: the HTTP status and body. */
  static refusal(url: string, token?: string, timeoutMs = 10_000, options: { headers?: Record<string, string>; protocols?: string[] } = {}): Promise<Refusal> {
    const target = token === undefined ? url : `${url}?token=${encodeURIComponent(token)}`;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(target, options.protocols ?? [], { headers: options.headers });
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error('no answer to the upgrade'));
      }, timeoutMs);
      ws.on('error', () => undefined);
      ws.once('open', () => {
        clearTimeout(timer);
        ws.terminate();
        reject(new Error('the upgrade was accepted'));
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
    });
  }

  get node(): string {
    return this.welcome.node;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(frame: Record<string, unknown>): void {
    this.ws.send(JSON.stringify(frame));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendBinary(data: Buffer): void {
    this.ws.send(data, { binary: true });
  }

  /**
   * Takes the first not-yet-taken frame matching `predicate`, waiting for it
   * if needed. Rejects on timeout, or as soon as the socket is closed.
   */
  async next<T extends ServerFrame = ServerFrame>(
    predicate: (frame: ServerFrame) => boolean,
    timeoutMs = 5000,
    what = 'a frame',
  ): Promise<T> {
    return this.waitFor(
      () => {
        const index = this.queue.findIndex(predicate);
        return index >= 0 ? (this.queue.splice(index, 1)[0] as T) : undefined;
      },
      timeoutMs,
      what,
    );
  }

  /** Re-runs `take` on every frame (and on close) until it returns something. */
  private async waitFor<T>(take: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = take();
      if (found !== undefined) return found;
      if (this.closeInfo) {
        throw new Error(`${this.label}: socket closed (${this.closeInfo.code} ${this.closeInfo.reason}) while waiting for ${what}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.label}: timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends join and waits for `joined`. Replayed messages follow in `received`. */
  async join(room: string, since?: string, timeoutMs = 5000): Promise<JoinedFrame> {
    this.send(since === undefined ? { type: 'join', room } : { type: 'join', room, since });
    return this.next<JoinedFrame>((f) => f.type === 'joined' && f.room === room, timeoutMs, `joined ${room}`);
  }

  /** Sends a chat message and waits for its one outcome: the own message or an error, both with the ref. */
  async say(room: string, text: string, ref = newRef('say'), timeoutMs = 5000): Promise<SendOutcome> {
    this.send({ type: 'send', room, text, ref });
    return this.outcome(ref, timeoutMs);
  }

  /** Waits for the message or error that carries `ref`. */
  outcome(ref: string, timeoutMs = 5000): Promise<SendOutcome> {
    return this.next<SendOutcome>((f) => (isMessage(f) || isError(f)) && f.ref === ref, timeoutMs, `the outcome of ${ref}`);
  }

  /** Waits for the error answering `ref` (or an error without ref when `ref` is undefined). */
  error(ref: string | undefined, timeoutMs = 5000): Promise<ErrorFrame> {
    return this.next<ErrorFrame>((f) => isError(f) && f.ref === ref, timeoutMs, `an error with ref ${ref}`);
  }

  /** Application ping: resolves when the matching pong arrives (the socket works). */
  async ping(timeoutMs = 5000): Promise<PongFrame> {
    const ref = newRef('ping');
    this.send({ type: 'ping', ref });
    return this.next<PongFrame>((f) => f.type === 'pong' && f.ref === ref, timeoutMs, `pong ${ref}`);
  }

  /** Waits until the message with `id` in `room` has been received (taken by `next` or not). */
  waitForId(room: string, id: string, timeoutMs = 5000): Promise<ChatMessage> {
    return this.seen<ChatMessage>((f) => isMessage(f) && f.room === room && f.id === id, timeoutMs, `message ${id} in ${room}`);
  }

  /**
   * Like `next`, but looks at every frame received so far and takes none:
   * for "has this arrived yet", whoever else waits for it.
   */
  async seen<T extends ServerFrame = ServerFrame>(
    predicate: (frame: ServerFrame) => boolean,
    timeoutMs = 5000,
    what = 'a frame',
  ): Promise<T> {
    return this.waitFor(() => this.received.find(predicate) as T | undefined, timeoutMs, what);
  }

  /** Every message received in `room`, in arrival order (replay and live). */
  messages(room: string): ChatMessage[] {
    return this.received.filter((f): f is ChatMessage => isMessage(f) && f.room === room);
  }

  /** Waits for the socket to be closed by the server. */
  async waitClosed(timeoutMs = 10_000): Promise<CloseInfo> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.label}: not closed within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.closed, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Closes from our side; terminates if the close handshake does not finish. */
  async close(): Promise<void> {
    if (this.closeInfo) return;
    this.ws.close(1000);
    const timer = setTimeout(() => this.ws.terminate(), 2000);
    await this.closed;
    clearTimeout(timer);
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = [];
    for (const resolve of wake) resolve();
  }
}

/** Closes every client, ignoring the ones already gone. */
export async function closeAll(clients: Iterable<TestClient>): Promise<void> {
  await Promise.all([...clients].map((client) => client.close().catch(() => undefined)));
}
