/** Tokens minted the way any backend holding CHAT_JWT_SECRET may mint them. */
import { SignJWT } from 'jose';

export interface MintOptions {
  sub: string;
  name: string;
  /** Expiry, in seconds since the epoch. */
  exp: number;
  /** Further claims (admin, rooms). */
  claims?: Record<string, unknown>;
}

export function mintToken(secret: string, { sub, name, exp, claims }: MintOptions): Promise<string> {
  return new SignJWT({ ...claims, name })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
