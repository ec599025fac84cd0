import { compareIds } from '../protocol.js';
import {
  messageBody,
  messageFrame,
  type Broker,
  type BrokerEvent,
  type Delivery,
  type DeliveryHandler,
  type HistoryPage,
  type HistoryQuery,
  type MessageDraft,
  type StoredMessage,
} from './broker.js';
import { trimBatch } from './history.js';

interface RoomLog {
  entries: StoredMessage[];
  /** Id of the newest message trimmed away, if any. */
  trimmedUpTo?: string;
}

/**
 * The embedded broker: one process, nothing shared. Same contract as
 * RedisBroker, so the node cannot tell them apart.
 */
export class MemoryBroker implements Broker {
  private handler: DeliveryHandler = () => {};
  private readonly subscribed = new Set<string>();
  private readonly logs = new Map<string, RoomLog>();
  private lastMs = 0;
  private lastSeq = 0;

  constructor(private readonly options: { historyMaxLen: number }) {}

  onDelivery(handler: DeliveryHandler): void {
    this.handler = handler;
  }

  on(_event: BrokerEvent, _listener: () => void): void {
    // Memory never goes down.
  }

  async subscribe(room: string): Promise<void> {
    this.subscribed.add(room);
  }

  async unsubscribe(room: string): Promise<void> {
    this.subscribed.delete(room);
  }

  async publish(draft: MessageDraft): Promise<StoredMessage> {
    const id = this.nextId();
    const frame = messageFrame(draft.room, id, messageBody(draft));
    const log = this.logFor(draft.room);
    log.entries.push({ id, frame });
    const drop = trimBatch(log.entries.length, this.options.historyMaxLen);
    if (drop > 0) log.trimmedUpTo = log.entries.splice(0, drop).at(-1)!.id;
    this.deliver({ room: draft.room, id, frame });
    return { id, frame };
  }

  async publishEvent(room: string, frame: string, skip?: string): Promise<void> {
    this.deliver({ room, frame, skip });
  }

  async history(room: string, query: HistoryQuery): Promise<HistoryPage> {
    const log = this.logs.get(room);
    if (!log) return { messages: [], truncated: false };
    let entries: StoredMessage[];
    let truncated = false;
    if (query.since !== undefined) {
      const since = query.since;
      entries = log.entries.filter((e) => compareIds(e.id, since) > 0);
      truncated = log.trimmedUpTo !== undefined && compareIds(log.trimmedUpTo, since) > 0;
    } else {
      const before = query.before;
      const older = before === undefined ? log.entries : log.entries.filter((e) => compareIds(e.id, before) < 0);
      entries = older.slice(-(query.limit ?? older.length));
    }
    return { messages: entries, truncated };
  }

  isReady(): boolean {
    return true;
  }

  async close(): Promise<void> {
    this.subscribed.clear();
  }

  private logFor(room: string): RoomLog {
    let log = this.logs.get(room);
    if (!log) this.logs.set(room, (log = { entries: [] }));
    return log;
  }

  /** Ids in Redis's form: ms-seq, strictly increasing even if the clock steps back. */
  private nextId(): string {
    const now = Date.now();
    if (now > this.lastMs) {
      this.lastMs = now;
      this.lastSeq = 0;
    } else {
      this.lastSeq++;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }

  private deliver(delivery: Delivery): void {
    if (!this.subscribed.has(delivery.room)) return;
    // Asynchronous like a real broker, so callers never see re-entrant deliveries.
    queueMicrotask(() => {
      if (this.subscribed.has(delivery.room)) this.handler(delivery);
    });
  }
}
