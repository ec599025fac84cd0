import type { User } from '@roomcast/server/protocol';

interface Props {
  room: string;
  users: readonly User[];
  me: User;
  /** Starts (or opens) a direct conversation with someone. */
  onMessage?: (user: User) => void;
}

/** Who is in the room right now (kept current by presence diffs), each a click away from a DM. */
export function PresenceList({ room, users, me, onMessage }: Props) {
  const sorted = [...users].sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
  return (
    <section className="presence" aria-labelledby="presence-title">
      <h2 className="section-title" id="presence-title">
        Here now <span className="count">{users.length}</span>
      </h2>
      <ul data-testid="presence" aria-label={`People in ${room}`}>
        {sorted.map((user) => (
          <li key={user.id} data-testid="present-user">
            <span className="avatar" aria-hidden="true" style={{ background: avatarColor(user.id) }}>
              {initial(user.name)}
            </span>
            <span className="user-name">{user.name}</span>
            {user.id === me.id && <span className="muted"> (you)</span>}
            {user.id !== me.id && onMessage && (
              <button type="button" className="icon-button dm-button" aria-label={`Message ${user.name}`} title={`Message ${user.name}`} onClick={() => onMessage(user)}>
                <span aria-hidden="true">✉</span>
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function initial(name: string): string {
  return (Array.from(name)[0] ?? '?').toUpperCase();
}

const AVATAR_COLORS = ['#4f46e5', '#0891b2', '#059669', '#d97706', '#db2777', '#7c3aed', '#dc2626', '#2563eb'];

/** A stable, readable colour per user (FNV-1a of the id picks from a palette). */
export function avatarColor(id: string): string {
  let hash = 0x811c9dc5;
  for (const char of id) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193) >>> 0;
  return AVATAR_COLORS[hash % AVATAR_COLORS.length]!;
}
