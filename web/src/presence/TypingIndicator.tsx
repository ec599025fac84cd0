import type { TypingUser } from '../chat/state.js';

export function typingText(typing: readonly TypingUser[]): string {
  const names = typing.map((t) => t.user.name);
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

/** "bob is typing…": goes away by itself when the signals stop. */
export function TypingIndicator({ typing }: { typing: readonly TypingUser[] }) {
  return (
    <div className="typing" data-testid="typing" aria-live="polite">
      {typingText(typing)}
    </div>
  );
}
