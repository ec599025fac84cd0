import { ApiError } from '../chat/api.js';

/** What to tell the user about a refused room action, by error code (never the raw server text alone). */
export function describeProblem(error: unknown, room?: string): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'conflict':
        return room ? `A room named #${room} already exists. Pick another name.` : 'That already exists.';
      case 'forbidden':
        return 'You are not allowed to do that here.';
      case 'not_found':
        return 'No such room or person.';
      case 'rate_limited':
        return 'Too many changes at once. Wait a moment and try again.';
      case 'bad_request':
        return `That did not work: ${error.message}`;
      case 'unauthorized':
        return 'Your session expired. Please sign in again.';
    }
  }
  return 'Something went wrong. Check your connection and try again.';
}
