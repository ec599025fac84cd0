import { useEffect, useSyncExternalStore } from 'react';
import type { ChatClient } from '../chat/connection.js';
import type { ChatState } from '../chat/state.js';
import { DEFAULT_ROOM, roomFromLocation, roomHref } from './route.js';

function subscribe(listener: () => void): () => void {
  window.addEventListener('hashchange', listener);
  window.addEventListener('popstate', listener);
  return () => {
    window.removeEventListener('hashchange', listener);
    window.removeEventListener('popstate', listener);
  };
}

const currentRoom = () => roomFromLocation(window.location);

/** Puts a room in the address bar without adding a history entry. */
export function replaceRoute(room: string): void {
  window.history.replaceState(null, '', `${window.location.pathname}${roomHref(room)}`);
  window.dispatchEvent(new HashChangeEvent('hashchange'));
}

/**
 * Keeps the open room and the address in step: the address is the source of
 * truth (so a link opens a room); without one, the last room or `lobby`.
 */
export function useRoomRoute(state: ChatState, client: ChatClient): void {
  const routed = useSyncExternalStore(subscribe, currentRoom);
  const signedIn = state.session !== null;
  useEffect(() => {
    if (!signedIn) return;
    if (routed === null) {
      replaceRoute(client.getSnapshot().activeRoom ?? client.getSnapshot().roomOrder[0] ?? DEFAULT_ROOM);
      return;
    }
    client.openRoom(routed);
  }, [routed, signedIn, client]);

  // The routed room was closed (left, refused, removed): the address follows the room shown
  // instead, or the default room when none is left (it is opened, never the closed one again).
  const active = state.activeRoom;
  useEffect(() => {
    const snapshot = client.getSnapshot();
    if (!signedIn || routed === null || snapshot.rooms[routed] || active !== snapshot.activeRoom) return;
    if (active) replaceRoute(active);
    else if (routed !== DEFAULT_ROOM) replaceRoute(DEFAULT_ROOM);
  }, [routed, active, signedIn, client]);
}
