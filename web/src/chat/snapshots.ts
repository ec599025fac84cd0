import type { ChatMessage, User } from '@roomcast/server/protocol';
import { SNAPSHOT_MESSAGES, type OfflineStore } from './offline-store.js';
import type { RoomState } from './state.js';
import type { ChatStore } from './store.js';

interface Saved {
  messages: readonly ChatMessage[];
  users: readonly User[];
  epoch: string | undefined;
}

/**
 * Keeps each room's last known state (its newest messages, who was there,
 * the log's epoch) in the user's offline store, so that a reload while the
 * server is out of reach still shows the conversation. Writes are gathered:
 * at most one per `delayMs`, and at once on `flush` (the page going away).
 */
export class Snapshots {
  private readonly saved = new Map<string, Saved>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private unsubscribe: (() => void) | null = null;

  constructor(
    private readonly store: ChatStore,
    private readonly offline: OfflineStore,
    private readonly user: () => string | null,
    private readonly options: { delayMs: number; now: () => number },
  ) {}

  start(): void {
    this.unsubscribe ??= this.store.subscribe(() => {
      if (this.timer === null && this.user() !== null) this.timer = setTimeout(() => this.flush(), this.options.delayMs);
    });
  }

  stop(): void {
    this.flush();
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  /** What the device knows of the room, for a room added to the state (null: nothing). */
  lastKnown(room: string): Partial<RoomState> | null {
    const user = this.user();
    const snapshot = user === null ? null : this.offline.loadSnapshot(user, room);
    if (!snapshot) return null;
    this.saved.set(room, { messages: snapshot.messages, users: snapshot.users, epoch: snapshot.epoch });
    return { messages: snapshot.messages, users: snapshot.users, epoch: snapshot.epoch };
  }

  /** Writes the rooms that changed since they were last written. */
  flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const user = this.user();
    if (user === null) return;
    for (const room of Object.values(this.store.state.rooms)) {
      const saved = this.saved.get(room.name);
      if (saved && saved.messages === room.messages && saved.users === room.users && saved.epoch === room.epoch) continue;
      this.saved.set(room.name, { messages: room.messages, users: room.users, epoch: room.epoch });
      this.offline.saveSnapshot(user, room.name, {
        messages: room.messages.slice(-SNAPSHOT_MESSAGES),
        users: [...room.users],
        ...(room.epoch !== undefined ? { epoch: room.epoch } : {}),
        savedAt: this.options.now(),
      });
    }
  }

  /** The user left the room: nothing of it is kept. */
  forget(room: string): void {
    this.saved.delete(room);
    const user = this.user();
    if (user !== null) this.offline.removeSnapshot(user, room);
  }

  /** Another user (or nobody) from now on: nothing saved is known to be current. */
  reset(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.saved.clear();
  }
}
