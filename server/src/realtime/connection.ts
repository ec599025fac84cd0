import type { Identity } from '../auth.js';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { CloseCode, type ErrorCode, type ServerFrame, type User } from '../protocol.js';
import type { Corker } from './cork.js';
import { framedTarget, writeFrame } from './write-frame.js';
import { TokenBucket } from './rate-limit.js';
import type { Delivery } from '../broker/broker.js';

/**
 * One socket's membership of one room. While `pending` is set the join is
 * still replaying history, and live frames wait here so they can be sent
 * after the replay, in order, without duplicates.
 */
export interface Membership {
  pending: Delivery[] | null;
  /**
   * Newest id the join sent. A message stored just before the history read
   * can still arrive live afterwards: ids up to this one are dropped, once.
   */
  replayedUpTo?: string;
  /**
   * Every message with a larger id reaches this socket through this
   * membership (replay, then live): a send that turns out to be a duplicate
   * of such a message needs no second copy.
   */
  receivesAfter?: string;
}

export interface ConnectionLimits {
  maxBufferedBytes: number;
  messages: { perSecond: number; burst: number };
  /** Typing signals have a budget of their own: they never eat the message quota. */
  typing: { perSecond: number; burst: number };
  frames: { perSecond: number; burst: number };
}

/** A client socket and the little state it needs. Knows nothing of brokers. */
export class Connection {
  readonly rooms = new Map<string, Membership>();
  /** Something came from the client (a frame, a pong) since the last keep-alive tick. */
  heard = false;
  /** A frame went to the client (not a ping) since the last keep-alive tick. */
  private spoke = false;
  /** Pinged at the last tick: silence until the next one means the peer is gone. */
  private awaitingPong = false;
  closed = false;
  readonly messageBucket: TokenBucket;
  readonly typingBucket: TokenBucket;
  readonly frameBucket: TokenBucket;
  /** Decided once: where broadcast frames built once for all sockets go as they are (see write-frame.ts). */
  private readonly framedTo: Duplex | undefined;
  /** Bytes a replay put in the buffer at once; not held against the reader until drained. */
  private burst = 0;

  constructor(
    readonly id: string,
    /** Who the token says this is (user, expiry, admin, rooms), verified on upgrade. */
    readonly identity: Identity,
    private readonly socket: WebSocket,
    private readonly corker: Corker,
    private readonly limits: ConnectionLimits,
    private readonly onSlow: (connection: Connection) => void,
    /**
     * The socket ws runs on, as the server's 'upgrade' event handed it to
     * handleUpgrade: corked to coalesce the writes of a tick, and written to
     * by broadcasts. Without it, every write goes through ws.send, uncorked.
     */
    private readonly raw?: Duplex,
  ) {
    this.messageBucket = new TokenBucket(limits.messages.perSecond, limits.messages.burst);
    this.typingBucket = new TokenBucket(limits.typing.perSecond, limits.typing.burst);
    this.frameBucket = new TokenBucket(limits.frames.perSecond, limits.frames.burst);
    this.framedTo = framedTarget(socket, raw);
  }

  get user(): User {
    return this.identity.user;
  }

  get expiresAt(): number {
    return this.identity.expiresAt;
  }

  /**
   * Sends a frame that is already serialized to JSON. `burst` marks part of
   * a replay: written even past the buffer bound (the replay is bounded by
   * the history length), and forgiven until the reader has drained it.
   */
  sendRaw(data: Buffer | string, burst = false): boolean {
    if (!this.prepareWrite(burst)) return false;
    this.socket.send(data, { binary: false });
    if (burst) this.burst = Math.max(this.burst, this.socket.bufferedAmount);
    return true;
  }

  /**
   * The hot path of a broadcast: writes a WebSocket frame built once for all
   * sockets (see framing.ts) to the socket, through its stream (see write-frame.ts).
   */
  sendFramed(frame: Buffer, payload: Buffer): boolean {
    if (!this.prepareWrite(false)) return false;
    writeFrame(this.socket, this.framedTo, frame, payload);
    return true;
  }

  /**
   * Open, not too far behind (unless this write is part of a replay burst),
   * and coalesced with the other writes of this tick.
   */
  private prepareWrite(burst: boolean): boolean {
    if (this.closed || this.socket.readyState !== this.socket.OPEN) return false;
    if (!burst && this.fellBehind()) {
      this.onSlow(this);
      this.close(CloseCode.tryAgainLater, 'slow consumer: reconnect and resume');
      return false;
    }
    if (this.raw) this.corker.beforeWrite(this.raw);
    this.spoke = true;
    return true;
  }

  private fellBehind(): boolean {
    const buffered = this.socket.bufferedAmount;
    if (buffered <= this.limits.maxBufferedBytes) this.burst = 0;
    return buffered > this.limits.maxBufferedBytes + this.burst;
  }

  send(frame: ServerFrame): boolean {
    return this.sendRaw(JSON.stringify(frame));
  }

  error(code: ErrorCode, message: string, ref?: string): void {
    this.send(ref === undefined ? { type: 'error', code, message } : { type: 'error', code, message, ref });
  }

  close(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close(code, reason);
    // A peer that never answers the close handshake must not hold the socket.
    setTimeout(() => this.socket.terminate(), 5000).unref();
  }

  terminate(): void {
    this.closed = true;
    this.socket.terminate();
  }

  /**
   * Once per ping interval. A socket silent since the ping of the last tick
   * is dead: terminated. One with frames both ways since the last tick needs
   * no ping: its peer is alive and no proxy on the way sees it idle in
   * either direction. Any other gets a ping, which the pong answers. So an
   * idle socket is pinged every interval, as before, and a dead peer is
   * dropped within two intervals, as before, while a busy socket costs no
   * ping, no pong, and no wake-up for either.
   */
  keepAlive(): void {
    if (this.awaitingPong && !this.heard) return this.terminate();
    const busy = this.heard && this.spoke;
    this.heard = false;
    this.spoke = false;
    this.awaitingPong = !busy;
    if (!busy) this.socket.ping();
  }
}
