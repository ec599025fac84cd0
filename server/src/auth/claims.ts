/**
 * From verified claims to an Identity: the checks that do not depend on the
 * signature (user id, display name, the optional `rooms` and `admin` claims).
 */
import type { JWTPayload } from 'jose';
import type { Identity } from '../auth.js';
import { isRoomName, validateName } from '../protocol.js';
import { unauthorized } from './refusal.js';

/**
 * HS256 tokens are the app backend's own (contract v1: `name` is required);
 * JWKS tokens come from an identity provider, whose display name may be
 * `name`, else `preferred_username`, else the `sub` itself.
 */
export type TokenSource = 'shared-secret' | 'jwks';

const MAX_SUB_LENGTH = 128;
/**
 * The user id is stored in tab-separated Redis fields and shown in logs:
 * no control (tab included), format or separator characters, no lone surrogates.
 */
const FORBIDDEN_IN_SUB = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;

/** Builds the Identity of a token whose signature and time claims are already verified. */
export function identityFrom(payload: JWTPayload, source: TokenSource): Identity {
  const id = userId(payload.sub);
  const identity: Identity = {
    user: { id, name: displayName(payload, source) },
    expiresAt: payload.exp! * 1000,
    admin: payload.admin === true,
  };
  const rooms = roomGrants(payload.rooms);
  return rooms === undefined ? identity : { ...identity, rooms };
}

function userId(sub: unknown): string {
  if (typeof sub !== 'string' || sub === '') throw unauthorized('token has no sub claim');
  if ([...sub].length > MAX_SUB_LENGTH) throw unauthorized(`token sub claim is longer than ${MAX_SUB_LENGTH} characters`);
  if (FORBIDDEN_IN_SUB.test(sub)) throw unauthorized('token sub claim contains a control or invisible character');
  return sub;
}

/** The display name, normalized and checked like a guest login's; the message names the claim it came from. */
function displayName(payload: JWTPayload, source: TokenSource): string {
  const [claim, value] = nameClaim(payload, source);
  const result = validateName(value);
  if (!result.ok) throw unauthorized(`token ${claim} claim is not accepted: ${result.message}`);
  return result.name;
}

function nameClaim(payload: JWTPayload, source: TokenSource): [string, unknown] {
  if (source === 'shared-secret') {
    if (payload.name === undefined) throw unauthorized('token has no name claim');
    return ['name', payload.name];
  }
  if (payload.name != null) return ['name', payload.name];
  if (payload.preferred_username != null) return ['preferred_username', payload.preferred_username];
  return ['sub', payload.sub];
}

/**
 * The `rooms` claim: exact room names, or a room-name prefix followed by one
 * `*` ("support-*"). Anything else makes the whole token invalid: silently
 * dropping a malformed limit would widen what the token may do.
 */
function roomGrants(claim: unknown): readonly string[] | undefined {
  if (claim === undefined) return undefined;
  if (!Array.isArray(claim) || !claim.every(isRoomGrant)) {
    throw unauthorized('invalid token: the rooms claim must be a list of room names or prefixes ending in *');
  }
  return Object.freeze([...claim]);
}

function isRoomGrant(entry: unknown): entry is string {
  if (typeof entry !== 'string') return false;
  return isRoomName(entry.endsWith('*') ? entry.slice(0, -1) : entry);
}
