import { createContext, useContext, useSyncExternalStore } from 'react';
import type { SignIn, SignInState } from './signin.js';

export const SignInContext = createContext<SignIn | null>(null);

export function useSignIn(): { signIn: SignIn; state: SignInState } {
  const signIn = useContext(SignInContext);
  if (!signIn) throw new Error('useSignIn needs a <SignInContext.Provider>');
  return { signIn, state: useSyncExternalStore(signIn.subscribe, signIn.getSnapshot) };
}
