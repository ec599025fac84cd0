/** Tokens minted the way any backend holding CHAT_JWT_SECRET may mint them. */
import { SignJWT } from 'jose';

export interface MintOptions {
  sub: string;
  name: string;
  /** Expiry, in seconds since the epoch. */
  exp: number;
}

export function mintToken(secret: string, { sub, name, exp }: MintOptions): Promise<string> {
  return new SignJWT({ name })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
