import { createContext, useContext, useSyncExternalStore } from 'react';
import type { ChatClient } from './connection.js';
import type { ChatState } from './state.js';

export const ChatClientContext = createContext<ChatClient | null>(null);

/** The chat's state (re-rendered on every change) and the client to act on it. */
export function useChat(): { state: ChatState; client: ChatClient } {
  const client = useContext(ChatClientContext);
  if (!client) throw new Error('useChat needs a <ChatClientContext.Provider>');
  const state = useSyncExternalStore(client.subscribe, client.getSnapshot);
  return { state, client };
}
