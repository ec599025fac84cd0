import type { User } from '@roomcast/server/protocol';

interface Props {
  room: string;
  users: readonly User[];
  me: User;
  /** False while not connected: the list is who was there when last connected. */
  live?: boolean;
  /** Starts (or opens) a direct conversation with someone. */
  onMessage?: (user: User) => void;
}

/** Who is in the room right now (kept current by presence diffs), each a click away from a DM. */
export function PresenceList({ room, users, me, live = true, onMessage }: Props) {
  const sorted = [...users].sort((a, b) => (a.id === me.id ? -1 : b.id === me.id ? 1 : a.name.localeCompare(b.name)));
  return (
    <section className="presence" aria-labelledby="presence-title">
      <h2 className="section-title" id="presence-title">
        {live ? 'Here now' : 'Here (last known)'} <span className="count">{users.length}</span>
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

const colors = new Map<number, string>();

/**
 * A stable colour per user: the hue comes from a hash of the id (FNV-1a, mixed), so
 * two people rarely share one (one in ~36 hues, against one in 8 from a
 * palette); the lightness is the lightest at which white initials keep a
 * contrast of at least 4.5:1 (WCAG AA) at that hue.
 */
export function avatarColor(id: string): string {
  let hash = 0x811c9dc5;
  for (const char of id) hash = Math.imul(hash ^ char.codePointAt(0)!, 0x01000193) >>> 0;
  // FNV's low bits are weak for a small modulus: mix them (murmur3's finalizer) first.
  hash = Math.imul(hash ^ (hash >>> 16), 0x85ebca6b);
  hash = Math.imul(hash ^ (hash >>> 13), 0xc2b2ae35);
  hash = (hash ^ (hash >>> 16)) >>> 0;
  const hue = (hash % 36) * 10;
  let color = colors.get(hue);
  if (color === undefined) {
    color = readableOnWhite(hue);
    colors.set(hue, color);
  }
  return color;
}

function readableOnWhite(hue: number): string {
  for (let lightness = 50; ; lightness -= 1) {
    const rgb = hslToRgb(hue, 0.62, lightness / 100);
    if (1.05 / (luminance(rgb) + 0.05) >= 4.6 || lightness <= 20) return `#${rgb.map((c) => Math.round(c * 255).toString(16).padStart(2, '0')).join('')}`;
  }
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1));
  };
  return [f(0), f(8), f(4)];
}

/** WCAG relative luminance of an sRGB colour (channels 0..1). */
export function luminance([r, g, b]: readonly number[]): number {
  const linear = (c: number) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  return 0.2126 * linear(r!) + 0.7152 * linear(g!) + 0.0722 * linear(b!);
}
