import { ErrorCode, LIMITS, codePointLength, normalizeText, type ClientFrame } from '@roomcast/server/protocol';
import type { OfflineStore } from './offline-store.js';
import { DEFAULT_PACING, TokenBucket, type PacingOptions } from './pacing.js';
import type { PendingSend, SendError } from './state.js';
import type { ChatStore, RefMaker } from './store.js';

export const MAX_PENDING_TEXT = LIMITS.maxTextCodePoints;

/** How the outbox reaches the socket. */
export interface OutboxWire {
  write(frame: ClientFrame): boolean;
  /** The socket frames go out on now. */
  generation(): number;
  /** The room is joined on this socket and its replay is over. */
  isReady(room: string): boolean;
  /** Whose outbox it is (its copy lives under this user id); null when signed out. */
  user(): string | null;
}

export interface OutboxOptions {
  /** At most one typing signal per room per this many ms. */
  typingThrottleMs: number;
  /** The client's own send budget, under the server's. */
  pacing: PacingOptions;
  /** First wait after a refusal that may pass (rate_limited, internal...); doubles up to `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  now: () => number;
  random: () => number;
}

export const DEFAULT_OUTBOX: Omit<OutboxOptions, 'now' | 'random'> = {
  typingThrottleMs: 3000,
  pacing: DEFAULT_PACING,
  retryBaseMs: 1000,
  retryMaxMs: 30_000,
};

/** Refusals that say something about now, not about the message: it is sent again, same ref. */
const PASSING: ReadonlySet<string> = new Set([ErrorCode.rateLimited, ErrorCode.internal, ErrorCode.unavailable, ErrorCode.notJoined]);

/**
 * What the user sends, until the server has it.
 *
 * - Every message is pending at once (shown as unsent), and kept in the
 *   user's offline store until the server stores it, so a reload, a crash or
 *   a night offline loses nothing.
 * - Each room's sends go out in order, one at a time: the next leaves when the
 *   previous is stored (or refused for good), so no refusal or reconnect can
 *   reorder them.
 * - Sends are paced by a token bucket under the server's budget; a refusal
 *   that may pass (rate_limited, internal, unavailable, not_joined) pauses the
 *   outbox, and the message goes again with the same ref (the server's
 *   idempotency by user and ref means it can never be stored twice).
 * - A refusal for good (too_large, forbidden, bad_request...) marks that
 *   message failed, with the reason, to be edited or discarded; the ones after
 *   it go on.
 *
 * Typing signals go out too, at most one per room per throttle period; the
 * server counts them apart from messages.
 */
export class Outbox {
  /** Socket generation each pending send was last written on: it is in flight there. */
  private readonly sentOn = new Map<string, number>();
  private readonly typingSentAt = new Map<string, number>();
  private readonly bucket: TokenBucket;
  private pausedUntil = 0;
  /** Refusals that may pass, in a row: the pause doubles with each. */
  private refusals = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private timerAt = 0;

  constructor(
    private readonly store: ChatStore,
    private readonly wire: OutboxWire,
    private readonly offline: OfflineStore,
    private readonly refs: RefMaker,
    private readonly options: OutboxOptions,
  ) {
    this.bucket = new TokenBucket(options.pacing, options.now);
  }

  /**
   * Shows the message at once as pending and sends it when the room is ready.
   * Returns an error (and keeps nothing) for text the server would refuse.
   */
  send(room: string, rawText: string): SendError | null {
    const current = this.store.room(room);
    if (!current) return { code: ErrorCode.notJoined, message: 'Join the room first.' };
    const text = normalizeText(rawText);
    if (text === '') return { code: ErrorCode.badRequest, message: 'The message is empty.' };
    if (codePointLength(text) > MAX_PENDING_TEXT) {
      return { code: 'too_long', message: `Messages are limited to ${MAX_PENDING_TEXT} characters.` };
    }
    const pending: PendingSend = { ref: this.refs.next('m'), room, text, createdAt: this.options.now(), status: 'pending' };
    this.keep(pending);
    this.store.patchRoom(room, { pending: [...current.pending, pending] });
    this.flush(room);
    return null;
  }

  /** Sends a failed message again, with its ref (a late answer to it is the answer). */
  retry(room: string, ref: string): void {
    const again = this.change(room, ref, (send) => (send.status === 'failed' ? { ...send, status: 'pending', error: undefined } : send));
    if (again) this.flush(room);
  }

  /** Takes a failed message out of the outbox to be edited; returns its text. */
  edit(room: string, ref: string): string | null {
    const send = this.store.room(room)?.pending.find((p) => p.ref === ref);
    if (!send || send.status !== 'failed') return null;
    this.discard(room, ref);
    return send.text;
  }

  discard(room: string, ref: string): void {
    const current = this.store.room(room);
    if (!current?.pending.some((p) => p.ref === ref)) return;
    this.sentOn.delete(ref);
    this.forget([ref]);
    this.store.patchRoom(room, { pending: current.pending.filter((p) => p.ref !== ref) });
    this.flush(room);
  }

  /** Call on every keystroke: at most one signal per room per throttle period goes out. */
  notifyTyping(room: string): void {
    if (!this.wire.isReady(room)) return;
    const now = this.options.now();
    const last = this.typingSentAt.get(room);
    if (last !== undefined && now - last < this.options.typingThrottleMs) return;
    if (this.wire.write({ type: 'typing', room })) this.typingSentAt.set(room, now);
  }

  /** Sends restored from the offline store (a reload, another tab, an earlier session): shown, then sent. */
  adopt(sends: readonly PendingSend[]): void {
    const byRoom = new Map<string, PendingSend[]>();
    for (const send of sends) byRoom.set(send.room, [...(byRoom.get(send.room) ?? []), send]);
    for (const [room, restored] of byRoom) {
      const current = this.store.room(room);
      if (!current) continue;
      const known = new Set(current.pending.map((p) => p.ref));
      const added = restored.filter((send) => !known.has(send.ref));
      if (added.length === 0) continue;
      const pending = [...current.pending, ...added].sort((a, b) => a.createdAt - b.createdAt);
      this.store.patchRoom(room, { pending });
      this.flush(room);
    }
  }

  // ------------------------------------------------------------ the wire

  /** Writes the room's next send if it may go now, or plans to. */
  flush(room: string): void {
    if (!this.wire.isReady(room)) return;
    const head = this.store.room(room)?.pending.find((p) => p.status === 'pending');
    // One at a time: the next goes when this one is answered.
    if (!head || this.sentOn.get(head.ref) === this.wire.generation()) return;
    const now = this.options.now();
    if (now < this.pausedUntil) return this.wakeIn(this.pausedUntil - now);
    if (!this.bucket.take()) return this.wakeIn(this.bucket.wait());
    if (this.wire.write({ type: 'send', room, text: head.text, ref: head.ref })) this.sentOn.set(head.ref, this.wire.generation());
  }

  /** A new socket: the server's budget for it is fresh. */
  socketOpened(): void {
    this.bucket.fill();
  }

  /** The server stored the send with this ref (the room's state no longer lists it): the next may go. */
  stored(room: string, ref: string): void {
    this.sentOn.delete(ref);
    this.refusals = 0;
    this.forget([ref]);
    this.flush(room);
  }

  /** An `error` frame with a ref: returns whether it answered one of our sends. */
  refused(ref: string, error: SendError): boolean {
    const room = Object.values(this.store.state.rooms).find((r) => r.pending.some((p) => p.ref === ref));
    if (!room) return false;
    this.sentOn.delete(ref);
    if (!PASSING.has(error.code)) {
      this.change(room.name, ref, (send) => ({ ...send, status: 'failed', error }));
      this.flush(room.name);
      return true;
    }
    // Not stored, and it may pass: same message, same ref, a little later.
    this.refusals++;
    if (error.code === ErrorCode.rateLimited) this.bucket.empty();
    const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(this.refusals - 1, 20));
    this.pausedUntil = this.options.now() + Math.round(delay * (0.75 + this.options.random() / 2));
    this.change(room.name, ref, (send) => ({ ...send, error }), false);
    this.flush(room.name);
    return true;
  }

  /** The room is gone (left, closed): its sends go with it. */
  forgetRoom(pending: readonly PendingSend[]): void {
    for (const send of pending) this.sentOn.delete(send.ref);
    this.forget(pending.map((send) => send.ref));
  }

  /** Signed out or stopped: nothing in flight, no timer. The offline copy stays. */
  reset(): void {
    this.sentOn.clear();
    this.typingSentAt.clear();
    this.pausedUntil = 0;
    this.refusals = 0;
    this.clearTimer();
  }

  // ------------------------------------------------------------ internals

  private wakeIn(ms: number): void {
    const at = this.options.now() + ms;
    if (this.timer !== null && this.timerAt <= at) return;
    this.clearTimer();
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = null;
      for (const room of this.store.state.roomOrder) this.flush(room);
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Changes one pending send (and its offline copy, when `keep`); returns the new one. */
  private change(room: string, ref: string, next: (send: PendingSend) => PendingSend, keep = true): PendingSend | null {
    const current = this.store.room(room);
    const send = current?.pending.find((p) => p.ref === ref);
    if (!current || !send) return null;
    const changed = next(send);
    if (changed === send) return null;
    if (keep) this.keep(changed);
    this.store.patchRoom(room, { pending: current.pending.map((p) => (p.ref === ref ? changed : p)) });
    return changed;
  }

  private keep(send: PendingSend): void {
    const user = this.wire.user();
    if (user !== null) this.offline.putSend(user, send);
  }

  private forget(refs: readonly string[]): void {
    const user = this.wire.user();
    if (user !== null) this.offline.removeSends(user, refs);
  }
}
