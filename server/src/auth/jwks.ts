/**
 * Tokens from the app's identity provider: signed with RS256, ES256 or EdDSA
 * by a key of the JSON Web Key Set at AUTH_JWKS_URL.
 */
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/** The asymmetric algorithms accepted from the key set. Never HS*: see Auth.verify. */
export const JWKS_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];

export interface JwksVerifierOptions {
  url: string;
  /** When set, `iss` must equal it. */
  issuer?: string;
  /** When set, `aud` must contain it. */
  audience?: string;
  /** An unknown `kid` refetches the set at most this often (contract: once per 30 s). */
  cooldownMs: number;
  /** A key set fetch that takes longer fails, so a hung provider cannot hold upgrades. */
  timeoutMs: number;
  clockToleranceSeconds: number;
}

export class JwksVerifier {
  /**
   * jose's remote set: fetched on first use, cached (10 min), refetched
   * early when a token names a `kid` the cache lacks (at most once per
   * cooldown), one fetch at a time however many tokens wait for it.
   */
  private readonly keys: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly options: JwksVerifierOptions) {
    this.keys = createRemoteJWKSet(new URL(options.url), {
      cooldownDuration: options.cooldownMs,
      timeoutDuration: options.timeoutMs,
    });
  }

  /** The verified claims; throws jose's errors (see refusal.ts). */
  async verify(token: string): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.keys, {
      algorithms: [...JWKS_ALGORITHMS],
      issuer: this.options.issuer,
      audience: this.options.audience,
      requiredClaims: ['sub', 'exp'],
      clockTolerance: this.options.clockToleranceSeconds,
    });
    return payload;
  }
}
