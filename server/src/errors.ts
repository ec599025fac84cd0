import { ErrorCode, type HttpErrorBody } from './protocol.js';

/** The one table of errors: each code with its HTTP status. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  not_joined: 409,
  too_large: 413,
  rate_limited: 429,
  forbidden: 403,
  conflict: 409,
  internal: 500,
  unavailable: 503,
};

/** An error that carries its wire code; thrown anywhere, answered in one place. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** When to try again (rate_limited): answered over HTTP as Retry-After, in whole seconds. */
    readonly details: { retryAfterMs?: number } = {},
  ) {
    super(message);
    this.name = 'ChatError';
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  toBody(): HttpErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}

export const badRequest = (message: string) => new ChatError(ErrorCode.badRequest, message);
