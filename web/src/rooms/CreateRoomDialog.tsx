import { useId, useState, type FormEvent } from 'react';
import { isRoomName, type User } from '@roomcast/server/protocol';
import type { Membership } from '../chat/membership.js';
import { Dialog } from '../ui/Dialog.js';
import { InvitePicker } from './InvitePicker.js';
import { describeProblem } from './problem.js';
import { normalizeRoomInput } from './route.js';

interface Props {
  membership: Membership;
  people: readonly User[];
  me: User;
  onClose: () => void;
  onCreated: (room: string) => void;
}

/** New private room: a name and the people to invite. */
export function CreateRoomDialog({ membership, people, me, onClose, onCreated }: Props) {
  const nameField = useId();
  const [name, setName] = useState('');
  const [invited, setInvited] = useState<string[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    const room = normalizeRoomInput(name);
    if (!isRoomName(room)) {
      setError('Use lowercase letters, digits, - and _ (at most 64), starting with a letter or digit.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await membership.createPrivateRoom(room, invited);
      onCreated(room);
    } catch (caught) {
      setError(describeProblem(caught, room));
      setBusy(false);
    }
  }

  return (
    <Dialog title="New private room" onClose={onClose}>
      <form className="dialog-body" onSubmit={submit} noValidate>
        <p className="muted">Only the people you invite can see it, read it and post in it.</p>
        <label htmlFor={nameField}>Room name</label>
        <input
          id={nameField}
          data-autofocus
          value={name}
          placeholder="room-name"
          autoCapitalize="none"
          autoCorrect="off"
          spellCheck={false}
          onChange={(e) => {
            setName(e.target.value);
            setError(null);
          }}
          aria-invalid={error !== null}
          aria-describedby={error ? `${nameField}-error` : undefined}
        />
        <InvitePicker people={people} selected={invited} onChange={setInvited} me={me.id} />
        {error && (
          <p id={`${nameField}-error`} className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create room'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
