/**
 * Why a token was refused, in words a client developer can act on. The token
 * itself is never part of the message: messages are logged and sent back.
 */
import { errors } from 'jose';
import { ChatError } from '../errors.js';
import { ErrorCode } from '../protocol.js';

export const unauthorized = (message: string): ChatError => new ChatError(ErrorCode.unauthorized, message);

/** Turns anything `jwtVerify` or the key set threw into ChatError(unauthorized). */
export function refusal(err: unknown): ChatError {
  if (err instanceof ChatError) return err;
  if (err instanceof errors.JWTExpired) return unauthorized('token expired');
  if (err instanceof errors.JWTClaimValidationFailed) return claimRefusal(err);
  if (err instanceof errors.JWKSNoMatchingKey) return unauthorized('token signed with an unknown key');
  if (err instanceof errors.JOSEAlgNotAllowed) return unauthorized('token algorithm not accepted');
  if (isKeySetFailure(err)) return unauthorized('token signing keys could not be fetched');
  // Bad signature, malformed token, unusable key: all the same to the client.
  return unauthorized('invalid token');
}

function claimRefusal(err: InstanceType<typeof errors.JWTClaimValidationFailed>): ChatError {
  if (err.claim === 'iss') return unauthorized('token issuer is not accepted');
  if (err.claim === 'aud') return unauthorized('token audience is not accepted');
  if (err.claim === 'nbf' && err.reason === 'check_failed') return unauthorized('token not yet valid');
  if (err.reason === 'missing') return unauthorized(`token has no ${err.claim} claim`);
  return unauthorized(`invalid token: bad ${err.claim} claim`);
}

/**
 * The key set could not be had: a timeout, an unreachable host (fetch()
 * rejects with TypeError "fetch failed"), a status other than 200 or a body
 * that is not a key set. The provider's fault, not the client's.
 */
export function isKeySetFailure(err: unknown): boolean {
  if (err instanceof errors.JWKSTimeout || err instanceof errors.JWKSInvalid) return true;
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  return err instanceof errors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message);
}
