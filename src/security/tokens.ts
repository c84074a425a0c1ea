import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Bearer secrets (API tokens, drone credentials, session ids): 32 random bytes, prefixed with their kind so a leaked
 * one is recognisable (secret scanners, logs): `dw_api_...`, `dw_drone_...`, `dw_sess_...`. Only their SHA-256 is
 * stored: they carry 256 bits of entropy, so a fast hash is enough (unlike passwords) and lookups stay O(1).
 */
export type TokenKind = 'api' | 'drone' | 'sess';

export function newToken(kind: TokenKind): string {
  return `dw_${kind}_${randomBytes(32).toString('base64url')}`;
}

export function tokenKind(token: string): TokenKind | undefined {
  const m = /^dw_(api|drone|sess)_[A-Za-z0-9_-]{43}$/.exec(token);
  return m ? (m[1] as TokenKind) : undefined;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Constant-time string equality (CSRF tokens, HMAC signatures). */
export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
