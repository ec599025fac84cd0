/**
 * What the scenarios need from a chat stack, so the same load runs against
 * Roomcast (the wire contract) and against the Socket.IO peer.
 */
import { createHmac } from 'node:crypto';
import WebSocket from 'ws';

export interface ConnectionHandlers {
  /** A chat message for a room this socket joined; `ref` as the frame carries it. */
  onMessage(room: string, id: string, text: string, ref: string | undefined): void;
  /** A separate acknowledgement (Socket.IO acks); Roomcast acks with the sender's own message. */
  onAck(ref: string, id: string): void;
  /** An error frame; `ref` names the refused frame when there is one. */
  onError(code: string, ref: string | undefined): void;
  /** The socket closed (not by close() of ours), with the close code. */
  onClose(code: number): void;
  /** Any other frame type (presence, typing, pong...), for the counters. */
  onOther(type: string): void;
}

export interface ChatConnection {
  /** The replica that holds the socket (welcome.node), if the stack says. */
  readonly node: string;
  /** Joins a room; resolves when the server confirms (Roomcast: `joined`). */
  join(room: string, since: string | undefined): Promise<{ truncated: boolean }>;
  send(room: string, text: string, ref: string): void;
  typing(room: string): void;
  /** Bytes queued in the client socket: a sign that the server does not read. */
  readonly bufferedAmount: number;
  /** Closes (code 1000); resolves once the socket is closed, so no frame arrives after. */
  close(): Promise<void>;
}

export interface Transport {
  readonly name: 'roomcast' | 'socketio';
  /** Message ids are ordered per room (so out-of-order can be checked). */
  readonly ordered: boolean;
  readonly baseUrl: string;
  login(name: string): Promise<string>;
  /**
   * Makes a token without asking the server, when the tool knows how (it holds
   * the cluster's secret): memory measurements then see no login garbage.
   */
  mint?(name: string): string;
  /** Opens a socket; resolves once the server greeted it (welcome / connect). */
  connect(token: string, handlers: ConnectionHandlers, timeoutMs: number): Promise<ChatConnection>;
}

/** Thrown by connect/login with a short code for the "connect errors" counters. */
export class ConnectError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function postLogin(baseUrl: string, name: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
      signal: AbortSignal.timeout(15_000),
    });
  } catch (err) {
    throw new ConnectError('login_network', `login failed: ${(err as Error).message}`);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new ConnectError(`login_${res.status}`, `login answered ${res.status}`);
  }
  const body = (await res.json()) as { token?: unknown };
  if (typeof body.token !== 'string') throw new ConnectError('login_bad_body', 'login answer has no token');
  return body.token;
}

/** An HS256 JWT with the claims the contract names (sub, name, exp), signed with `secret`. */
export function mintJwt(secret: string, name: string, ttlSec = 24 * 3600): string {
  const b64 = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `lt_${name}`, name, iat: now, exp: now + ttlSec })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function toWsUrl(baseUrl: string, path: string): string {
  const u = new URL(path, baseUrl);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  return u.toString();
}

/** A connection that calls onWelcome (once, then clears it) when the server greets it. */
export interface WelcomingConnection extends ChatConnection {
  onWelcome: (() => void) | undefined;
}

/**
 * Opens a `ws` socket to `url`, offering `protocols` (Sec-WebSocket-Protocol), and
 * resolves with the connection `create` wraps it in, once that connection is
 * welcomed; settles once, rejecting with a ConnectError on timeout, an HTTP answer
 * to the upgrade, a socket error or a close before welcome.
 * `prepare` lets the transport add its own ways to fail (they go through the same `fail`).
 */
export function openWelcomed<C extends WelcomingConnection>(
  url: string,
  timeoutMs: number,
  create: (ws: WebSocket) => C,
  prepare?: (conn: C, fail: (err: ConnectError) => void) => void,
  protocols: readonly string[] = [],
): Promise<C> {
  return new Promise((resolve, reject) => {
    // No compression and no UTF-8 validation: the generator must stay cheap per frame.
    const ws = new WebSocket(url, [...protocols], { perMessageDeflate: false, skipUTF8Validation: true, handshakeTimeout: timeoutMs });
    const conn = create(ws);
    let settled = false;
    const fail = (err: ConnectError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(err);
    };
    const timer = setTimeout(() => fail(new ConnectError('timeout', 'no welcome in time')), timeoutMs);
    ws.on('unexpected-response', (_req, res) => fail(new ConnectError(`http_${res.statusCode ?? 0}`, `upgrade answered ${res.statusCode}`)));
    ws.on('error', (err) => fail(new ConnectError('socket', err.message)));
    ws.on('close', (code) => fail(new ConnectError(`close_${code}`, `closed with ${code} before welcome`)));
    prepare?.(conn, fail);
    conn.onWelcome = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.removeAllListeners('error');
      ws.on('error', () => undefined); // 'close' follows and reports
      resolve(conn);
    };
  });
}

/** Closes with 1000 and resolves on 'close'; a server that never answers the handshake is cut after 2 s, so it cannot hold the run. */
export function closeSocket(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close(1000);
    setTimeout(() => ws.terminate(), 2000).unref();
  });
}

export interface MessageFields {
  room: string;
  id: string;
  text: string;
  ref: string | undefined;
}

const MESSAGE_HEAD = '{"type":"message","room":"';

/**
 * Reads a message frame without JSON.parse, the generator's largest cost per
 * delivery: at 100,000 deliveries/s parsing whole frames is a tenth of a core
 * that the servers on the same box would otherwise get. Only for the layout
 * Roomcast's messageFrame and the Socket.IO peer both write (type, room, id,
 * …, text, ref) and only when the frame has no backslash, so that no string
 * holds an escaped quote. Anything else returns undefined: parse it properly.
 */
export function readMessageFrame(s: string, at = 0): MessageFields | undefined {
  if (!s.startsWith(MESSAGE_HEAD, at) || s.includes('\\', at)) return undefined;
  const roomStart = at + MESSAGE_HEAD.length;
  const roomEnd = s.indexOf('"', roomStart);
  if (!s.startsWith('","id":"', roomEnd)) return undefined;
  const idStart = roomEnd + 8;
  const idEnd = s.indexOf('"', idStart);
  const textKey = s.indexOf('"text":"', idEnd);
  if (idEnd < 0 || textKey < 0) return undefined;
  const textEnd = s.indexOf('"', textKey + 8);
  if (textEnd < 0) return undefined;
  let ref: string | undefined;
  if (s.startsWith(',"ref":"', textEnd + 1)) {
    const refEnd = s.indexOf('"', textEnd + 9);
    if (refEnd < 0) return undefined;
    ref = s.slice(textEnd + 9, refEnd);
  }
  return { room: s.slice(roomStart, roomEnd), id: s.slice(idStart, idEnd), text: s.slice(textKey + 8, textEnd), ref };
}
