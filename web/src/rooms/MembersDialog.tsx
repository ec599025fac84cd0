import { useCallback, useEffect, useState } from 'react';
import type { User } from '@roomcast/server/protocol';
import type { MemberListing } from '../chat/api.js';
import type { Membership } from '../chat/membership.js';
import { Dialog } from '../ui/Dialog.js';
import { InvitePicker } from './InvitePicker.js';
import { describeProblem } from './problem.js';

interface Props {
  room: string;
  membership: Membership;
  people: readonly User[];
  me: User;
  onClose: () => void;
  onLeft: () => void;
}

const ROLE_LABEL = { owner: 'owner', admin: 'admin', member: 'member' } as const;

/** Who belongs to a private room; its owner and admins add and remove people; anyone may leave. */
export function MembersDialog({ room, membership, people, me, onClose, onLeft }: Props) {
  const [members, setMembers] = useState<MemberListing[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [invited, setInvited] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setMembers(await membership.members(room));
    } catch (caught) {
      setError(describeProblem(caught));
    }
  }, [membership, room]);

  useEffect(() => {
    void load();
  }, [load]);

  async function act(action: () => Promise<void>, reload = true) {
    setBusy(true);
    setError(null);
    try {
      await action();
      if (reload) await load();
    } catch (caught) {
      setError(describeProblem(caught));
    } finally {
      setBusy(false);
    }
  }

  const myRole = members?.find((m) => m.id === me.id)?.role;
  const manages = myRole === 'owner' || myRole === 'admin';
  const nameOf = (m: MemberListing) => m.name ?? membership.nameOf(m.id) ?? m.id;

  return (
    <Dialog title={`Members of #${room}`} onClose={onClose}>
      <div className="dialog-body">
        {members === null && !error && <p className="muted">Loading…</p>}
        {members && (
          <ul className="member-list" aria-label={`Members of #${room}`}>
            {members.map((member) => (
              <li key={member.id} data-testid="member">
                <span className="person-name">{nameOf(member)}</span>
                {member.id === me.id && <span className="muted"> (you)</span>}
                <span className="role">{ROLE_LABEL[member.role] ?? member.role}</span>
                {manages && member.id !== me.id && member.role !== 'owner' && (
                  <button
                    type="button"
                    className="link-button"
                    disabled={busy}
                    aria-label={`Remove ${nameOf(member)} from #${room}`}
                    onClick={() => void act(() => membership.removeMember(room, member.id))}
                  >
                    Remove
                  </button>
                )}
              </li>
            ))}
          </ul>
        )}
        {manages && members && (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              const ids = invited;
              void act(async () => {
                for (const id of ids) await membership.addMember(room, id);
                setInvited([]);
              });
            }}
          >
            <InvitePicker people={people} selected={invited} onChange={setInvited} exclude={new Set(members.map((m) => m.id))} me={me.id} />
            <div className="dialog-actions">
              <button type="submit" className="primary" disabled={busy || invited.length === 0}>
                Add to room
              </button>
            </div>
          </form>
        )}
        {error && (
          <p className="field-error" role="alert">
            {error}
          </p>
        )}
        <div className="dialog-actions">
          <button
            type="button"
            disabled={busy}
            onClick={() =>
              void act(async () => {
                await membership.leave(room);
                onLeft();
              }, false)
            }
          >
            Leave room
          </button>
        </div>
      </div>
    </Dialog>
  );
}
