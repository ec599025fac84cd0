import { describe, expect, it } from 'vitest';
import { emptyRoom, type ChatState } from '../chat/state.js';
import { sidebarSections } from './sections.js';

function chat(roomOrder: string[], unread: Record<string, number> = {}): ChatState {
  return {
    session: { user: { id: 'u-alice', name: 'alice' } },
    authError: null,
    connection: { status: 'offline', reason: 'network' },
    rooms: Object.fromEntries(roomOrder.map((name) => [name, { ...emptyRoom(name), unread: unread[name] ?? 0 }])),
    roomOrder,
    activeRoom: roomOrder[0] ?? null,
  };
}

const names = { 'u-bob': 'bob', 'u-zed': 'zed' } as Record<string, string>;
const nameOf = (id: string) => names[id];

describe('sidebarSections', () => {
  it('puts DMs (by the peer’s name, else id) apart from rooms, joined rooms first in join order', () => {
    const sections = sidebarSections(
      chat(['lobby', 'dm-x', 'design'], { 'dm-x': 3 }),
      [
        { name: 'zeta', private: true, role: 'member' },
        { name: 'alpha', private: true, role: 'owner' },
        { name: 'dm-x', private: true, role: 'member', peer: 'u-zed' },
        { name: 'dm-y', private: true, role: 'member', peer: 'u-bob' },
        { name: 'dm-z', private: true, role: 'member', peer: 'u_unknown' },
      ],
      nameOf,
    );
    expect(sections.rooms.map((e) => [e.name, e.private, e.open])).toEqual([
      ['lobby', false, true],
      ['design', false, true],
      ['alpha', true, false],
      ['zeta', true, false],
    ]);
    expect(sections.dms.map((e) => [e.name, e.label, e.unread, e.open])).toEqual([
      ['dm-y', 'bob', 0, false],
      ['dm-z', 'u_unknown', 0, false],
      ['dm-x', 'zed', 3, true],
    ]);
  });

  it('shows a joined DM room the list has not caught up with under DMs, by its name', () => {
    const sections = sidebarSections(chat(['lobby', 'dm-abc']), [], nameOf);
    expect(sections.rooms.map((e) => e.name)).toEqual(['lobby']);
    expect(sections.dms).toEqual([{ name: 'dm-abc', label: 'dm-abc', private: true, open: true, unread: 0 }]);
  });
});
