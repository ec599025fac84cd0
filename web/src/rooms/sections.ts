import type { RoomListing } from '../chat/api.js';
import { isDmName } from '../chat/membership.js';
import type { ChatState } from '../chat/state.js';

export interface SidebarEntry {
  name: string;
  /** What the list shows: the room's name, or the other person's name (else id) for a DM. */
  label: string;
  private: boolean;
  /** Joined in this tab (it has an unread count and can be closed). */
  open: boolean;
  unread: number;
  /** The other person's id, for a DM. */
  peer?: string;
}

export interface SidebarSections {
  rooms: SidebarEntry[];
  dms: SidebarEntry[];
}

/**
 * The sidebar's two lists, from what the tab has joined and what the server
 * says the user belongs to. Nothing else appears: a private room shows only
 * once the server lists it (or the user is in it), and a room the server
 * closed is gone from both.
 */
export function sidebarSections(chat: ChatState, listed: readonly RoomListing[], nameOf: (id: string) => string | undefined): SidebarSections {
  const byName = new Map(listed.map((room) => [room.name, room]));
  const entry = (name: string): SidebarEntry => {
    const listing = byName.get(name);
    const room = chat.rooms[name];
    const peer = listing?.peer;
    return {
      name,
      label: peer !== undefined ? (nameOf(peer) ?? peer) : name,
      private: listing?.private ?? isDmName(name),
      open: room !== undefined,
      unread: room?.unread ?? 0,
      ...(peer !== undefined ? { peer } : {}),
    };
  };
  const isDm = (name: string) => byName.get(name)?.peer !== undefined || isDmName(name);

  // Joined rooms in the order they were joined, then the others the user belongs to, by name.
  const names = [...chat.roomOrder, ...listed.map((room) => room.name).filter((name) => !chat.rooms[name]).sort()];
  const unique = [...new Set(names)];
  const dms = unique.filter(isDm).map(entry);
  dms.sort((a, b) => a.label.localeCompare(b.label));
  return { rooms: unique.filter((name) => !isDm(name)).map(entry), dms };
}
