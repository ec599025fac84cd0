import { useState, type FormEvent } from 'react';
import { LIMITS, validateName } from '@roomcast/server/protocol';
import { providerName } from '../auth/oidc.js';
import type { SignInState } from '../auth/signin.js';

interface Props {
  signIn: SignInState;
  onGuest: (name: string) => Promise<void>;
  onProvider: () => void;
  /** Why the user is back here (e.g. the session expired). */
  notice: string | null;
}

/**
 * The ways in this server offers: its OpenID Connect provider, the built-in
 * guest login (pick a name), or both.
 */
export function Login({ signIn, onGuest, onProvider, notice }: Props) {
  const { config, status, error: flowError } = signIn;
  const busy = status === 'redirecting' || status === 'completing';

  return (
    <main className="login">
      <div className="login-card" aria-labelledby="login-title" role="group">
        <h1 id="login-title">
          <span className="brand-mark" aria-hidden="true">
            #
          </span>
          Roomcast
        </h1>
        {notice && (
          <p className="notice" role="alert">
            {notice}
          </p>
        )}
        {flowError && (
          <p className="notice" role="alert">
            {flowError}
          </p>
        )}
        {status === 'completing' && <p className="muted" role="status">Signing you in…</p>}
        {status === 'loading' && <p className="muted">Loading…</p>}
        {config?.oidc && (
          <button type="button" className="primary provider-button" disabled={busy} onClick={onProvider}>
            {status === 'redirecting' ? 'Opening sign-in…' : `Sign in with ${providerName(config.oidc.issuer)}`}
          </button>
        )}
        {config?.oidc && config.guestLogin && <p className="login-or muted">or</p>}
        {config?.guestLogin && <GuestForm onGuest={onGuest} autoFocus={!config.oidc} />}
        {config && !config.oidc && !config.guestLogin && (
          <p className="muted">This server has no sign-in set up: ask its operator to configure OpenID Connect.</p>
        )}
      </div>
    </main>
  );
}

/** Pick a name and enter: the built-in guest login of the contract. */
function GuestForm({ onGuest, autoFocus }: { onGuest: (name: string) => Promise<void>; autoFocus: boolean }) {
  const [name, setName] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const checked = validateName(name);
    if (!checked.ok) {
      setError(`That name does not work: ${checked.message}.`);
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onGuest(checked.name);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not sign in.');
      setBusy(false);
    }
  }

  return (
    <form className="guest-form" onSubmit={submit}>
      <p className="muted">Pick a name to start chatting.</p>
      <label htmlFor="login-name">Your name</label>
      <input
        id="login-name"
        name="name"
        autoComplete="nickname"
        autoFocus={autoFocus}
        maxLength={LIMITS.maxNameCodePoints * 2}
        value={name}
        onChange={(e) => setName(e.target.value)}
        aria-invalid={error !== null}
        aria-describedby={error ? 'login-error' : undefined}
      />
      {error && (
        <p id="login-error" className="field-error" role="alert">
          {error}
        </p>
      )}
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Entering…' : 'Enter'}
      </button>
    </form>
  );
}
