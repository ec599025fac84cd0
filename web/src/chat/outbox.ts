import { ErrorCode, LIMITS, codePointLength, normalizeText, type ClientFrame } from '@roomcast/server/protocol';
import { markSendFailed } from './room-updates.js';
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
}

/**
 * What the user sends: messages, kept as pending until the server stores them
 * (or refuses them), and typing signals, throttled per room.
 */
export class Outbox {
  /** Socket generation each pending send was last written on. */
  private readonly sentOn = new Map<string, number>();
  private readonly typingSentAt = new Map<string, number>();

  constructor(
    private readonly store: ChatStore,
    private readonly wire: OutboxWire,
    private readonly refs: RefMaker,
    private readonly options: { typingThrottleMs: number; now: () => number },
  ) {}

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
    // Receivers clear our typing indicator when our message arrives: the next keystroke may signal again.
    this.typingSentAt.delete(room);
    this.store.patchRoom(room, { pending: [...current.pending, pending] });
    this.flush(room);
    return null;
  }

  /** Sends a failed message again (under a new ref, so a late answer to the old one is ignored). */
  retry(room: string, ref: string): void {
    const current = this.store.room(room);
    const failed = current?.pending.find((p) => p.ref === ref);
    if (!current || !failed) return;
    this.sentOn.delete(ref);
    const again: PendingSend = { ...failed, ref: this.refs.next('m'), status: 'pending', error: undefined };
    this.store.patchRoom(room, { pending: current.pending.map((p) => (p.ref === ref ? again : p)) });
    this.flush(room);
  }

  discard(room: string, ref: string): void {
    const current = this.store.room(room);
    if (!current) return;
    this.sentOn.delete(ref);
    this.store.patchRoom(room, { pending: current.pending.filter((p) => p.ref !== ref) });
  }

  /** Call on every keystroke: at most one signal per throttle period goes out. */
  notifyTyping(room: string): void {
    if (!this.wire.isReady(room)) return;
    const now = this.options.now();
    const last = this.typingSentAt.get(room);
    if (last !== undefined && now - last < this.options.typingThrottleMs) return;
    this.typingSentAt.set(room, now);
    this.wire.write({ type: 'typing', room });
  }

  /** Writes every pending send of the room that the current socket has not carried yet. */
  flush(room: string): void {
    if (!this.wire.isReady(room)) return;
    for (const pending of this.store.room(room)?.pending ?? []) {
      if (pending.status !== 'pending' || this.sentOn.get(pending.ref) === this.wire.generation()) continue;
      if (this.wire.write({ type: 'send', room, text: pending.text, ref: pending.ref })) {
        this.sentOn.set(pending.ref, this.wire.generation());
      }
    }
  }

  /** The server stored the send with this ref (the room state already dropped it from pending). */
  stored(ref: string): void {
    this.sentOn.delete(ref);
  }

  /** An `error` frame with a ref: returns whether it answered one of our sends. */
  refused(ref: string, error: SendError): boolean {
    for (const room of Object.values(this.store.state.rooms)) {
      const next = markSendFailed(room, ref, error);
      if (next === room) continue;
      this.sentOn.delete(ref);
      this.store.replaceRoom(next);
      return true;
    }
    return false;
  }

  /** The room is gone: its sends are not ours to track any more. */
  forgetRoom(pending: readonly PendingSend[]): void {
    for (const send of pending) this.sentOn.delete(send.ref);
  }

  reset(): void {
    this.sentOn.clear();
    this.typingSentAt.clear();
  }
}
