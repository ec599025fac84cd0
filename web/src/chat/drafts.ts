import type { OfflineStore } from './offline-store.js';

/**
 * What the user is writing in each room, kept as they type (per user, in
 * localStorage), so a reload or a crash loses nothing. Apart from the chat
 * state, so a keystroke re-renders the composer only.
 */
export class Drafts {
  private drafts: Record<string, string> = {};
  private user: string | null = null;
  private readonly listeners = new Set<() => void>();

  constructor(private readonly store: OfflineStore) {}

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Switches to `user`'s drafts (null: nobody signed in). */
  load(user: string | null): void {
    this.user = user;
    this.drafts = user === null ? {} : this.store.loadDrafts(user);
    this.emit();
  }

  get(room: string): string {
    return this.drafts[room] ?? '';
  }

  set(room: string, text: string): void {
    if (this.get(room) === text) return;
    const drafts = { ...this.drafts };
    if (text === '') delete drafts[room];
    else drafts[room] = text;
    this.drafts = drafts;
    if (this.user !== null) this.store.saveDraft(this.user, room, text);
    this.emit();
  }

  private emit(): void {
    for (const listener of this.listeners) listener();
  }
}
