import type { ChatState, RoomState } from './state.js';

/**
 * The chat's state as one immutable snapshot, shared by the parts of the
 * client (session, room sync, outbox, unread). Every change makes a new
 * snapshot and tells the listeners, which is what React's
 * useSyncExternalStore wants.
 */
export class ChatStore {
  private readonly listeners = new Set<() => void>();

  constructor(public state: ChatState) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): ChatState => this.state;

  room(name: string): RoomState | undefined {
    return this.state.rooms[name];
  }

  update(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const listener of this.listeners) listener();
  }

  replaceRoom(next: RoomState): void {
    if (this.state.rooms[next.name] === next) return;
    this.update({ rooms: { ...this.state.rooms, [next.name]: next } });
  }

  patchRoom(room: string, patch: Partial<RoomState>): void {
    const current = this.state.rooms[room];
    if (!current) return;
    this.update({ rooms: { ...this.state.rooms, [room]: { ...current, ...patch } } });
  }
}

/** Frame refs: unique within the tab, and unlike other tabs' (a random prefix). */
export class RefMaker {
  private counter = 0;
  // Not drawn from an injected `random`: refs only need to differ from other tabs' refs.
  private readonly prefix = crypto.getRandomValues(new Uint32Array(1))[0]!.toString(36);

  next(kind: string): string {
    return `${kind}${this.prefix}.${++this.counter}`;
  }
}
