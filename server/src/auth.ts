import { createHash } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { ChatError } from './errors.js';
import type { User } from './protocol.js';

export interface Identity {
  user: User;
  /** Token expiry, in ms since the epoch. */
  expiresAt: number;
  /** The `admin: true` claim: may read, post in and manage every room. */
  admin: boolean;
  /**
   * The `rooms` claim: the token is limited to these rooms (names, or
   * prefixes ending in `*`). Absent: every room.
   */
  rooms?: readonly string[];
}

/** Signs and verifies the HS256 tokens every replica shares through CHAT_JWT_SECRET. */
export class Auth {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  /** The same name always maps to the same id, on every replica. */
  static userIdFor(name: string): string {
    return 'u_' + createHash('sha256').update(name, 'utf8').digest('base64url').slice(0, 16);
  }

  async issue(user: User): Promise<string> {
    return new SignJWT({ name: user.name })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user.id)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  /** Throws ChatError(unauthorized) saying why the token is refused. */
  async verify(token: string | undefined | null): Promise<Identity> {
    if (!token) throw new ChatError('unauthorized', 'missing token');
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'], requiredClaims: ['sub', 'exp'] });
      if (typeof payload.name !== 'string' || payload.name === '') {
        throw new ChatError('unauthorized', 'token has no name claim');
      }
      return { user: { id: payload.sub!, name: payload.name }, expiresAt: payload.exp! * 1000, admin: false };
    } catch (err) {
      if (err instanceof ChatError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new ChatError('unauthorized', 'token expired');
      throw new ChatError('unauthorized', 'invalid token');
    }
  }
}

/** Reads `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
