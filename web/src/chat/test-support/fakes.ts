/**
 * In-memory stand-ins for the browser APIs the chat client uses, so unit
 * tests drive the client deterministically: the test plays the server.
 */
import type { ChatMessage, ClientFrame, JoinedFrame, ServerFrame, User } from '@roomcast/server/protocol';
import type { SocketLike } from '../connection.js';
import type { KeyValueStore } from '../storage.js';

export class FakeSocket implements SocketLike {
  static instances: FakeSocket[] = [];
  static reset(): void {
    FakeSocket.instances = [];
  }
  static get last(): FakeSocket {
    const socket = FakeSocket.instances.at(-1);
    if (!socket) throw new Error('no socket was opened');
    return socket;
  }

  readyState = 0;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  readonly sent: ClientFrame[] = [];
  closedByClient = false;

  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {
    FakeSocket.instances.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.sent.push(JSON.parse(data) as ClientFrame);
  }

  close(): void {
    this.closedByClient = true;
    this.readyState = 3;
  }

  // ---- the test plays the server

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  /** Opens the socket and sends the welcome frame. */
  welcome(node: string, user: User = ALICE): void {
    this.open();
    this.receive({ type: 'welcome', user, connectionId: `c-${node}`, node });
  }

  receive(frame: ServerFrame): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  receiveRaw(data: unknown): void {
    this.onmessage?.({ data });
  }

  /** The server (or the network) closes the socket. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  framesOfType<T extends ClientFrame['type']>(type: T): Extract<ClientFrame, { type: T }>[] {
    return this.sent.filter((f): f is Extract<ClientFrame, { type: T }> => f.type === type);
  }

  /**
   * Plays a well-behaved server for what the client sent so far (and what it
   * sends in reply): every join gets `joined`, every ping its `pong`.
   */
  answerJoinsAndPings(users: User[] = [ALICE]): void {
    for (let i = 0; i < this.sent.length; i++) {
      const frame = this.sent[i]!;
      if (frame.type === 'join' && !this.answeredJoins.has(i)) {
        this.answeredJoins.add(i);
        this.receive(joinedFrame(frame.room, users));
      }
    }
    this.answerPings();
  }

  /** Answers the pings not answered yet (including those sent while answering). */
  answerPings(): void {
    for (let i = 0; i < this.sent.length; i++) {
      const frame = this.sent[i]!;
      if (frame.type !== 'ping' || this.answered.has(i)) continue;
      this.answered.add(i);
      this.receive({ type: 'pong', ref: frame.ref });
    }
  }
  private readonly answeredJoins = new Set<number>();
  private readonly answered = new Set<number>();
}

export class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, string>();
  getItem(key: string): string | null {
    return this.data.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.data.set(key, value);
  }
  removeItem(key: string): void {
    this.data.delete(key);
  }
}

/** A `joined` frame as a v2 server sends it (with the log's epoch). */
export function joinedFrame(room: string, users: User[], truncated = false): JoinedFrame {
  return { type: 'joined', room, users, truncated, epoch: 'e1' } as JoinedFrame;
}

export const ALICE: User = { id: 'u-alice', name: 'alice' };
export const BOB: User = { id: 'u-bob', name: 'bob' };

/** A JWT-shaped token whose payload carries `exp` (seconds); unsigned, the client never verifies. */
export function fakeToken(expSeconds: number, name = 'alice'): string {
  const encode = (value: object) => btoa(JSON.stringify(value)).replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
  return `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode({ sub: `u-${name}`, name, exp: expSeconds })}.sig`;
}

export function message(room: string, id: string, user: User = BOB, text = `text ${id}`, ref?: string): ChatMessage {
  const ts = Number(id.split('-')[0]);
  return ref === undefined ? { type: 'message', room, id, ts, user, text } : { type: 'message', room, id, ts, user, text, ref };
}

export interface FetchCall {
  url: string;
  init: RequestInit | undefined;
}

/** A fetch that answers from a handler and records every call. */
export function fakeFetch(handler: (url: string, init?: RequestInit) => { status: number; body: unknown }) {
  const calls: FetchCall[] = [];
  const fetch = async (url: string, init?: RequestInit): Promise<Response> => {
    calls.push({ url, init });
    const { status, body } = handler(url, init);
    if (status === 204) return new Response(null, { status });
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  };
  return { fetch, calls };
}

export class FakeNetwork {
  onLine = true;
  private readonly listeners = new Map<string, Set<() => void>>();
  addEventListener(type: string, listener: () => void): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: () => void): void {
    this.listeners.get(type)?.delete(listener);
  }
  set(onLine: boolean): void {
    this.onLine = onLine;
    for (const listener of this.listeners.get(onLine ? 'online' : 'offline') ?? []) listener();
  }
}
