import { useState, type FormEvent } from 'react';
import { LIMITS, validateName } from '@roomcast/server/protocol';

interface Props {
  onLogin: (name: string) => Promise<void>;
  notice: string | null;
}

/** Pick a name and enter: the built-in guest login of the contract. */
export function Login({ onLogin, notice }: Props) {
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
      await onLogin(checked.name);
    } catch (caught) {
      setError(caught instanceof Error ? caught.message : 'Could not sign in.');
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <form className="login-card" onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">
          <span className="brand-mark" aria-hidden="true">
            #
          </span>
          Roomcast
        </h1>
        <p className="muted">Pick a name to start chatting.</p>
        {notice && (
          <p className="notice" role="alert">
            {notice}
          </p>
        )}
        <label htmlFor="login-name">Your name</label>
        <input
          id="login-name"
          name="name"
          autoComplete="nickname"
          autoFocus
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
    </main>
  );
}
