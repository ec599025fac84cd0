import { createHash } from 'node:crypto';
import { SignJWT, decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { identityFrom } from './auth/claims.js';
import { JWKS_ALGORITHMS, JwksVerifier } from './auth/jwks.js';
import { isKeySetFailure, refusal, unauthorized } from './auth/refusal.js';
import type { Config } from './config.js';
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

/** The settings Auth reads; pass the whole Config. */
export type AuthSettings = Pick<Config, 'jwtSecret' | 'tokenTtlSeconds' | 'authJwksUrl' | 'authIssuer' | 'authAudience'>;

/** Where Auth reports that the key set cannot be fetched (the replica's pino logger fits). */
export interface AuthLog {
  warn(details: object, message: string): void;
}

export interface AuthOptions {
  /** [30000] An unknown `kid` refetches the key set at most this often. Shorter only in tests. */
  jwksCooldownMs?: number;
  /** [3000] A key set fetch taking longer fails (the upgrade waiting for it is refused). */
  jwksTimeoutMs?: number;
  log?: AuthLog;
}

/** Clocks of the token's issuer and of this replica may differ a little. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** A provider outage would log once per token otherwise. */
const KEY_SET_WARNING_INTERVAL_MS = 30_000;

/**
 * Signs the HS256 tokens every replica shares through CHAT_JWT_SECRET, and
 * verifies them and, with AUTH_JWKS_URL, the identity provider's tokens.
 */
export class Auth {
  private readonly key: Uint8Array;
  private readonly ttlSeconds: number;
  private readonly jwks: JwksVerifier | undefined;
  private readonly log: AuthLog | undefined;
  private lastKeySetWarning = 0;

  constructor(settings: AuthSettings, options: AuthOptions = {}) {
    this.key = new TextEncoder().encode(settings.jwtSecret);
    this.ttlSeconds = settings.tokenTtlSeconds;
    this.log = options.log;
    this.jwks = settings.authJwksUrl
      ? new JwksVerifier({
          url: settings.authJwksUrl,
          issuer: settings.authIssuer,
          audience: settings.authAudience,
          cooldownMs: options.jwksCooldownMs ?? 30_000,
          timeoutMs: options.jwksTimeoutMs ?? 3_000,
          clockToleranceSeconds: CLOCK_TOLERANCE_SECONDS,
        })
      : undefined;
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

  /** Throws ChatError(unauthorized) saying why the token is refused (never quoting it). */
  async verify(token: string | undefined | null): Promise<Identity> {
    if (!token) throw unauthorized('missing token');
    try {
      const alg = headerAlgorithm(token);
      // The key follows from the algorithm, never the other way round: an
      // HS256 token is checked against the shared secret only, so a token
      // "signed" with the provider's public key as an HMAC secret fails.
      if (alg === 'HS256') return identityFrom(await this.verifyShared(token), 'shared-secret');
      if (this.jwks && JWKS_ALGORITHMS.includes(alg)) return identityFrom(await this.jwks.verify(token), 'jwks');
      throw unauthorized('token algorithm not accepted');
    } catch (err) {
      if (isKeySetFailure(err)) this.warnKeySet(err);
      throw refusal(err);
    }
  }

  /**
   * The app backend's own tokens (and the guest login's), as in v1: issuer
   * and audience are not checked, since AUTH_ISSUER/AUTH_AUDIENCE describe
   * the identity provider.
   */
  private async verifyShared(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.key, {
      algorithms: ['HS256'],
      requiredClaims: ['sub', 'exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return payload;
  }

  private warnKeySet(err: unknown): void {
    const now = Date.now();
    if (now - this.lastKeySetWarning < KEY_SET_WARNING_INTERVAL_MS) return;
    this.lastKeySetWarning = now;
    this.log?.warn({ err }, 'cannot fetch the key set at AUTH_JWKS_URL: identity provider tokens are refused');
  }
}

/** The protected header's `alg`; a token whose header does not decode is invalid. */
function headerAlgorithm(token: string): string {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw unauthorized('invalid token');
  }
  if (typeof alg !== 'string') throw unauthorized('invalid token');
  return alg;
}

/** Reads `Authorization: Bearer <token>`. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  return match?.[1];
}
