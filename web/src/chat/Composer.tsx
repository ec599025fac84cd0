import { useState, type FormEvent, type KeyboardEvent } from 'react';
import { LIMITS, codePointLength } from '@roomcast/server/protocol';
import type { SendError } from './state.js';

interface Props {
  room: string;
  /** What is written so far (kept by the client, so a reload keeps it). */
  draft: string;
  onDraft: (text: string) => void;
  onSend: (text: string) => SendError | null;
  onTyping: () => void;
}

/** Enter sends, Shift+Enter starts a new line. Works offline: what is sent waits in the outbox. */
export function Composer({ room, draft: text, onDraft: setText, onSend, onTyping }: Props) {
  const [error, setError] = useState<string | null>(null);
  const length = codePointLength(text);
  const nearLimit = length > LIMITS.maxTextCodePoints - 200;

  function send(event?: FormEvent) {
    event?.preventDefault();
    const refused = onSend(text);
    if (refused) {
      setError(refused.message);
      return;
    }
    setText('');
    setError(null);
  }

  function keyDown(event: KeyboardEvent<HTMLTextAreaElement>) {
    if (event.key === 'Enter' && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      send();
    }
  }

  return (
    <form className="composer" onSubmit={send}>
      <label htmlFor="composer-text" className="visually-hidden">
        Message #{room}
      </label>
      <textarea
        id="composer-text"
        rows={1}
        placeholder={`Message #${room}`}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          setError(null);
          if (e.target.value.trim() !== '') onTyping();
        }}
        onKeyDown={keyDown}
        aria-describedby="composer-help"
        aria-invalid={error !== null}
      />
      <button type="submit" className="primary" disabled={text.trim() === ''}>
        Send
      </button>
      <p id="composer-help" className="composer-help">
        {error ? (
          <span className="field-error" role="alert">
            {error}
          </span>
        ) : (
          <span className="muted">Enter to send · Shift+Enter for a new line</span>
        )}
        {nearLimit && (
          <span className={length > LIMITS.maxTextCodePoints ? 'field-error' : 'muted'}>
            {' '}
            {length}/{LIMITS.maxTextCodePoints}
          </span>
        )}
      </p>
    </form>
  );
}
