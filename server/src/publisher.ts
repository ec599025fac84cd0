import { setTimeout as delay } from 'node:timers/promises';
import type { FastifyBaseLogger } from 'fastify';
import type { Broker, MessageDraft, StoredMessage } from './broker/broker.js';
import { ChatError } from './errors.js';
import type { Metrics } from './metrics.js';
import { ErrorCode } from './protocol.js';
import { withTimeout } from './redis/connect.js';

/**
 * What a failed store command tells about the message:
 * - `not-stored`: Redis never ran it (refused before sending, or answered
 *   with an error: scripts run whole or not at all);
 * - `unknown`: it was sent and no answer came (a timeout, a connection lost
 *   mid-command, a failover). Redis may have stored it.
 */
export function outcomeOf(err: unknown): 'not-stored' | 'unknown' {
  if (!(err instanceof Error)) return 'unknown';
  if (err.name === 'ReplyError') return 'not-stored';
  // ioredis's own words when it refuses a command without sending it (enableOfflineQueue is off).
  // ("Connection is closed." is not one of them: ioredis also says it of commands already sent when a connection drops.)
  if (/enableOfflineQueue|isn't writeable|Cluster isn't ready/.test(err.message)) return 'not-stored';
  return 'unknown';
}

/** The message may or may not be stored, and whoever asked is gone or out of patience. */
export class OutcomeUnknown extends Error {
  constructor() {
    super('the store did not answer: the message may or may not have been stored');
    this.name = 'OutcomeUnknown';
  }
}

export interface PublisherOptions {
  /** Wait between attempts while the outcome is unknown (ms). */
  retryMs: number;
  /**
   * An attempt that has not settled by then counts as unknown and is tried
   * again: whatever a client library does with a command while a cluster
   * fails over, a send never hangs without an outcome.
   */
  attemptTimeoutMs: number;
}

/**
 * Publishes with exactly one truthful outcome. A send is refused
 * (`internal`) only when it is known that nothing was stored. When the
 * outcome is unknown, the same draft — same idempotency key — is tried again
 * once Redis answers: the store returns the message if the first attempt did
 * store it, so a retry never stores twice.
 */
export class Publisher {
  constructor(
    private readonly broker: Broker,
    private readonly metrics: Metrics,
    private readonly log: FastifyBaseLogger,
    private readonly options: PublisherOptions,
  ) {}

  /**
   * Keeps trying an unknown outcome while `wanted()` is true; then rejects
   * with OutcomeUnknown (a closed socket needs no answer; an HTTP caller gets
   * a 503 that says the outcome is unknown).
   */
  async publish(draft: MessageDraft, wanted: () => boolean): Promise<StoredMessage> {
    let unknown = false;
    for (;;) {
      // No readiness check before an attempt, only a pause before a retry: in a Redis Cluster one shard
      // failing over must not refuse the rooms of the others, and a store that cannot be reached refuses
      // the command unsent, at once.
      if (unknown) {
        await delay(this.options.retryMs);
        if (!wanted()) throw new OutcomeUnknown();
      }
      try {
        const stored = await withTimeout(this.broker.publish(draft), this.options.attemptTimeoutMs, 'publish attempt');
        if (!stored.duplicate) this.metrics.published.inc();
        return stored;
      } catch (err) {
        this.metrics.brokerErrors.inc();
        if (outcomeOf(err) === 'unknown') {
          if (!unknown) this.log.warn({ err, room: draft.room }, 'publish outcome unknown: retrying with the same idempotency key');
          unknown = true;
          if (!wanted()) throw new OutcomeUnknown();
          continue;
        }
        // Nothing was stored by this attempt; if an earlier one may have, only a retry can tell.
        if (unknown && wanted()) continue;
        if (unknown) throw new OutcomeUnknown();
        this.log.warn({ err, room: draft.room }, 'publish failed: not stored');
        throw new ChatError(ErrorCode.internal, 'message not stored: the broker is unreachable');
      }
    }
  }
}
