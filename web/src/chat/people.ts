import type { User } from '@roomcast/server/protocol';
import type { KeyValueStore } from './storage.js';

/** How many people the book keeps (the most recently met first). */
export const PEOPLE_LIMIT = 200;

const KEY_PREFIX = 'roomcast.people.';

/**
 * The people a user has met in shared rooms, remembered per user (the key
 * carries their id) so that the invite picker can offer them by name. Only
 * ids and display names are kept, never messages.
 */
export class PeopleBook {
  private people: readonly User[] = [];
  private owner: string | null = null;

  constructor(private readonly store: KeyValueStore | null) {}

  /** Switches to `owner`'s book (null: nobody signed in, nothing is kept). */
  load(owner: string | null): void {
    this.owner = owner;
    this.people = owner === null ? [] : this.read(owner);
  }

  list(): readonly User[] {
    return this.people;
  }

  nameOf(id: string): string | undefined {
    return this.people.find((person) => person.id === id)?.name;
  }

  /** Remembers people (not the owner), newest first; returns whether anything changed. */
  remember(users: readonly User[]): boolean {
    const owner = this.owner;
    if (owner === null) return false;
    let next = this.people;
    for (const user of users) {
      if (user.id === owner || typeof user.id !== 'string' || typeof user.name !== 'string') continue;
      const known = next.find((person) => person.id === user.id);
      if (known && known.name === user.name) continue;
      next = [{ id: user.id, name: user.name }, ...next.filter((person) => person.id !== user.id)].slice(0, PEOPLE_LIMIT);
    }
    if (next === this.people) return false;
    this.people = next;
    this.store?.setItem(KEY_PREFIX + owner, JSON.stringify(next));
    return true;
  }

  private read(owner: string): User[] {
    try {
      const value: unknown = JSON.parse(this.store?.getItem(KEY_PREFIX + owner) ?? '[]');
      if (!Array.isArray(value)) return [];
      return value
        .filter((p): p is User => typeof (p as Partial<User>)?.id === 'string' && typeof (p as Partial<User>).name === 'string')
        .map(({ id, name }) => ({ id, name }))
        .slice(0, PEOPLE_LIMIT);
    } catch {
      return [];
    }
  }
}
