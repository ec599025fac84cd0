import type { Notice } from '../chat/membership.js';

function describe(notice: Notice): string {
  const dm = notice.label !== notice.room;
  switch (notice.kind) {
    case 'removed':
      return dm ? `You were removed from the conversation with ${notice.label}.` : `You were removed from #${notice.label}. It is closed.`;
    case 'forbidden':
      return `#${notice.room} is a private room, and you are not a member.`;
  }
}

interface Props {
  notices: readonly Notice[];
  /** A problem with the user's last action (e.g. a DM could not be opened). */
  problem: string | null;
  onDismiss: (id: number) => void;
  onDismissProblem: () => void;
}

/** Why a room closed (once each, until dismissed), and what went wrong with the last action. */
export function Notices({ notices, problem, onDismiss, onDismissProblem }: Props) {
  if (notices.length === 0 && problem === null) return null;
  return (
    <div className="notices">
      {notices.map((notice) => (
        <p key={notice.id} className="notice-item" role="alert" data-testid="notice" data-kind={notice.kind}>
          <span>{describe(notice)}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={() => onDismiss(notice.id)}>
            ×
          </button>
        </p>
      ))}
      {problem !== null && (
        <p className="notice-item" role="alert" data-testid="notice" data-kind="problem">
          <span>{problem}</span>
          <button type="button" className="icon-button" aria-label="Dismiss" onClick={onDismissProblem}>
            ×
          </button>
        </p>
      )}
    </div>
  );
}
