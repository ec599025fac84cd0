import { createContext, useContext, useSyncExternalStore } from 'react';
import type { Membership, MembershipState } from './membership.js';

export const MembershipContext = createContext<Membership | null>(null);

/** The user's rooms, notices and people book (re-rendered on change), and the module to act on them. */
export function useMembership(): { membership: Membership; rooms: MembershipState } {
  const membership = useContext(MembershipContext);
  if (!membership) throw new Error('useMembership needs a <MembershipContext.Provider>');
  const rooms = useSyncExternalStore(membership.subscribe, membership.getSnapshot);
  return { membership, rooms };
}
