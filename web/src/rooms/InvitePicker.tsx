import { useId, useState } from 'react';
import type { User } from '@roomcast/server/protocol';

interface Props {
  /** People met in shared rooms (not the user). */
  people: readonly User[];
  /** Ids picked so far. */
  selected: readonly string[];
  onChange: (ids: string[]) => void;
  /** Ids not to offer (already members). */
  exclude?: ReadonlySet<string>;
  /** The user's own id: not addable. */
  me: string;
}

/** Pick people met in shared rooms by name, or paste a user id. */
export function InvitePicker({ people, selected, onChange, exclude, me }: Props) {
  const idField = useId();
  const [draft, setDraft] = useState('');
  const [error, setError] = useState<string | null>(null);
  const offered = people.filter((p) => !exclude?.has(p.id));
  const known = new Set(offered.map((p) => p.id));
  const pasted = selected.filter((id) => !known.has(id));

  function toggle(id: string, on: boolean) {
    onChange(on ? [...selected, id] : selected.filter((s) => s !== id));
  }

  function addId() {
    const id = draft.trim();
    if (id === '') return;
    if (id === me) return setError('That is your own id.');
    if (exclude?.has(id)) return setError('Already a member.');
    setError(null);
    setDraft('');
    if (!selected.includes(id)) onChange([...selected, id]);
  }

  return (
    <fieldset className="invite-picker">
      <legend>Invite people</legend>
      {offered.length > 0 ? (
        <ul className="people-options" aria-label="People you have met">
          {offered.map((person) => (
            <li key={person.id}>
              <label>
                <input type="checkbox" checked={selected.includes(person.id)} onChange={(e) => toggle(person.id, e.target.checked)} />
                <span className="person-name">{person.name}</span>
              </label>
              <span className="muted person-id">{person.id}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">
          {people.length > 0
            ? 'Everyone you have met is in already. You can add someone else by their user id.'
            : 'People you meet in shared rooms show up here. You can also add someone by their user id.'}
        </p>
      )}
      <label htmlFor={idField}>Add by user id</label>
      <div className="join-row">
        <input
          id={idField}
          value={draft}
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          placeholder="u_…"
          onChange={(e) => {
            setDraft(e.target.value);
            setError(null);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') {
              e.preventDefault();
              addId();
            }
          }}
          aria-invalid={error !== null}
          aria-describedby={error ? `${idField}-error` : undefined}
        />
        <button type="button" onClick={addId}>
          Add
        </button>
      </div>
      {error && (
        <p id={`${idField}-error`} className="field-error" role="alert">
          {error}
        </p>
      )}
      {pasted.length > 0 && (
        <ul className="chips" aria-label="Added by id">
          {pasted.map((id) => (
            <li key={id} className="chip">
              <span>{id}</span>
              <button type="button" className="icon-button" aria-label={`Remove ${id}`} onClick={() => toggle(id, false)}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
    </fieldset>
  );
}
