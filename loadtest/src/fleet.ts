/**
 * The simulated users: their sockets, what they sent and received, and the
 * counters every scenario reports. A Fleet connects clients (login, socket,
 * join), reconnects and resumes them (`since` = last id seen) when a socket
 * drops, and feeds every received message to the Ledger.
 */
import type { Histogram } from 'hdr-histogram-js';
import { Ledger, type Member, type RoomLedger } from './accounting.js';
import { decodeText, nowUs } from './payload.js';
import { newHistogram } from './stats.js';
import { ConnectError, type ChatConnection, type ConnectionHandlers, type Transport } from './transport.js';

export interface Counters {
  /** Failed login / upgrade / welcome / join attempts, by short code. */
  connectErrors: Record<string, number>;
  /** Error frames received, by error code. */
  errors: Record<string, number>;
  /** Sockets closed by the server or the network, by close code. */
  closes: Record<string, number>;
  /** Frames other than messages, welcome and joined, by type. */
  frames: Record<string, number>;
  /** Message frames that are not from this run (other traffic in the room). */
  foreign: number;
  /** Message frames of this run received, duplicates included. */
  deliveries: number;
  reconnects: number;
  /** Resumes whose `joined` said history no longer reaches back to `since`. */
  truncatedResumes: number;
}

export class Client {
  conn: ChatConnection | undefined;
  token = '';
  connected = false;
  reconnecting = false;
  /** Refs of sends awaiting their outcome → seq in the room. */
  readonly pending = new Map<string, number>();
  member: Member | undefined;
  private nextRef = 0;

  constructor(
    readonly index: number,
    readonly name: string,
    readonly room: RoomLedger | undefined,
  ) {}

  get node(): string {
    return this.conn?.node ?? '';
  }

  /**
   * Refs are unique across the run, not just per socket: the server may put a
   * sender's ref on every copy of its message, and a ref that another client
   * also uses would acknowledge the wrong send.
   */
  newRef(): string {
    return `${this.index.toString(36)}.${(this.nextRef++).toString(36)}`;
  }
}

export interface FleetOptions {
  /** Run tag: tells this run's messages apart (see payload.ts). */
  run: string;
  connectTimeoutMs: number;
  /** Reconnect and resume when the server or network closes a socket. */
  reconnect: boolean;
  /** Mint tokens when the transport can (the tool holds the secret) instead of POST /api/login. */
  mintTokens?: boolean;
}

/** Called for every message of this run a client receives. */
export type DeliveryListener = (client: Client, sentAtUs: number, receivedAtUs: number, duplicate: boolean) => void;

const bump = (table: Record<string, number>, key: string): void => {
  table[key] = (table[key] ?? 0) + 1;
};

export class Fleet {
  readonly clients: Client[] = [];
  readonly ledger: Ledger;
  readonly counters: Counters = { connectErrors: {}, errors: {}, closes: {}, frames: {}, foreign: 0, deliveries: 0, reconnects: 0, truncatedResumes: 0 };
  /** Microseconds: login, socket open → welcome, join → joined. */
  readonly loginTimes: Histogram = newHistogram();
  readonly connectTimes: Histogram = newHistogram();
  readonly joinTimes: Histogram = newHistogram();
  connected = 0;
  onDelivery: DeliveryListener = () => undefined;
  /** Called when a connection opens or closes (for the time series). */
  private stopping = false;

  constructor(
    readonly transport: Transport,
    private readonly opts: FleetOptions,
  ) {
    this.ledger = new Ledger(transport.ordered);
  }

  addClient(room: RoomLedger | undefined): Client {
    const i = this.clients.length;
    const client = new Client(i, `lt-${this.opts.run}-${i}`, room);
    this.clients.push(client);
    return client;
  }

  /** Gets the client a token: minted when `mint` and the transport can, else POST /api/login. */
  async login(c: Client, mint = false): Promise<void> {
    if (mint && this.transport.mint) {
      c.token = this.transport.mint(c.name);
      return;
    }
    const t = performance.now();
    try {
      c.token = await this.transport.login(c.name);
    } catch (err) {
      bump(this.counters.connectErrors, err instanceof ConnectError ? err.code : 'login');
      throw err;
    }
    this.loginTimes.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
  }

  /**
   * Opens the socket and joins the client's room (resuming after its last id
   * when it was a member before). The first successful join makes it a member.
   */
  async open(c: Client): Promise<void> {
    if (!c.token) await this.login(c, this.opts.mintTokens);
    let t = performance.now();
    let conn: ChatConnection;
    try {
      conn = await this.transport.connect(c.token, this.handlers(c), this.opts.connectTimeoutMs);
    } catch (err) {
      const code = err instanceof ConnectError ? err.code : 'connect';
      bump(this.counters.connectErrors, code);
      // An expired token (long soak): log in again on the next attempt.
      if (code === 'http_401') c.token = '';
      throw err;
    }
    this.connectTimes.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
    c.conn = conn;
    if (c.room) {
      t = performance.now();
      // A first join makes the client a member before `joined` arrives: frames that
      // follow `joined` in the same read are handled before the join promise resolves.
      const firstJoin = c.member === undefined;
      const member = (c.member ??= this.ledger.addMember(c.room, c.index));
      // '0-0': a member that saw nothing yet wants everything since the start, not the last 50.
      const since = firstJoin ? undefined : (member.lastId ?? '0-0');
      try {
        const joined = await withTimeout(conn.join(c.room.name, since), this.opts.connectTimeoutMs, 'join_timeout');
        if (since !== undefined && joined.truncated) this.counters.truncatedResumes++;
      } catch (err) {
        bump(this.counters.connectErrors, err instanceof ConnectError ? err.code : 'join');
        if (firstJoin) {
          this.ledger.removeMember(member);
          c.member = undefined;
        }
        void conn.close();
        c.conn = undefined;
        throw err;
      }
      this.joinTimes.recordValue(Math.max(1, Math.round((performance.now() - t) * 1000)));
    }
    c.connected = true;
    this.connected++;
  }

  /** open() with a few retries (backoff with jitter); false if it never succeeded. */
  async openWithRetry(c: Client, attempts: number): Promise<boolean> {
    for (let attempt = 0; attempt < attempts && !this.stopping; attempt++) {
      try {
        await this.open(c);
        return true;
      } catch {
        await sleep(backoff(attempt));
      }
    }
    return false;
  }

  /** Sends a run message from client c; false when it is not connected. */
  send(c: Client, text: string, seq: number): void {
    const ref = c.newRef();
    c.pending.set(ref, seq);
    c.conn!.send(c.room!.name, text, ref);
  }

  /** Closes a client's socket on purpose and reconnects it (soak churn). */
  async churn(c: Client): Promise<void> {
    if (!c.connected || !c.conn) return;
    this.markClosed(c);
    await c.conn.close();
    c.conn = undefined;
    this.reconnect(c, 0);
  }

  async closeAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.clients.map(async (c) => {
        const conn = c.conn;
        if (!conn) return;
        if (c.connected) this.markClosed(c);
        await conn.close();
      }),
    );
  }

  private handlers(c: Client): ConnectionHandlers {
    const ledger = this.ledger;
    const counters = this.counters;
    const run = this.opts.run;
    return {
      onMessage: (room, id, text, ref) => {
        const member = c.member;
        if (!member || room !== member.room.name) return;
        const decoded = decodeText(text, run);
        if (ref !== undefined) {
          const seq = c.pending.get(ref);
          // Our own send comes back: that is its acknowledgement.
          if (seq !== undefined && decoded?.seq === seq) {
            c.pending.delete(ref);
            ledger.acked(member.room, seq, id);
          }
        }
        if (!decoded) {
          counters.foreign++;
          return;
        }
        counters.deliveries++;
        const duplicate = ledger.delivered(member, decoded.seq, id) === 'duplicate';
        this.onDelivery(c, decoded.sentAtUs, nowUs(), duplicate);
      },
      onAck: (ref, id) => {
        const seq = c.pending.get(ref);
        if (seq === undefined || !c.room) return;
        c.pending.delete(ref);
        ledger.acked(c.room, seq, id);
      },
      onError: (code, ref) => {
        bump(counters.errors, code);
        const seq = ref === undefined ? undefined : c.pending.get(ref);
        if (seq === undefined || !c.room) return;
        c.pending.delete(ref!);
        ledger.failed(c.room, seq);
      },
      onClose: (code) => {
        bump(counters.closes, String(code));
        this.markClosed(c);
        c.conn = undefined;
        if (this.opts.reconnect && !this.stopping) this.reconnect(c, 1);
      },
      onOther: (type) => bump(counters.frames, type),
    };
  }

  /** The socket is gone: sends still awaiting an outcome may or may not have been stored. */
  private markClosed(c: Client): void {
    if (c.connected) this.connected--;
    c.connected = false;
    if (c.room) for (const seq of c.pending.values()) this.ledger.unknown(c.room, seq);
    c.pending.clear();
  }

  private reconnect(c: Client, firstAttempt: number): void {
    if (c.reconnecting) return;
    c.reconnecting = true;
    void (async () => {
      for (let attempt = firstAttempt; !this.stopping; attempt++) {
        if (attempt > 0) await sleep(backoff(attempt - 1));
        if (this.stopping) break;
        try {
          await this.open(c);
          this.counters.reconnects++;
          break;
        } catch {
          // counted in connectErrors; try again
        }
      }
      c.reconnecting = false;
    })();
  }
}

/** Exponential backoff with jitter: 100 ms doubling up to 3 s, times 0.5..1. */
export function backoff(attempt: number): number {
  return Math.min(3000, 100 * 2 ** attempt) * (0.5 + Math.random() / 2);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number, code: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new ConnectError(code, `no answer in ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Runs fn over items with at most `limit` in flight, starting at most `perSecond` per second. */
export async function forEachLimited<T>(items: T[], limit: number, perSecond: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const t0 = performance.now();
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      if (perSecond > 0) {
        const due = t0 + (i * 1000) / perSecond;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
      }
      await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
