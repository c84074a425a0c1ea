import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashing with scrypt (memory-hard, in Node's crypto: no native add-on). Parameters follow OWASP's password
 * storage guidance for scrypt (N = 2^17, r = 8, p = 1: 128 MiB and ~0.3 s per hash on this machine), and are stored in
 * the hash so they can be raised later without invalidating existing passwords.
 * Format: `scrypt$<log2 N>$<r>$<p>$<salt base64url>$<hash base64url>`.
 */
export interface ScryptParams {
  log2N: number;
  r: number;
  p: number;
}

export const DEFAULT_SCRYPT: ScryptParams = { log2N: 17, r: 8, p: 1 };
const KEY_BYTES = 32;

function scrypt(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  const opts: ScryptOptions = { N: 2 ** params.log2N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(password.normalize('NFC'), salt, KEY_BYTES, opts, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, params);
  return ['scrypt', params.log2N, params.r, params.p, salt.toString('base64url'), key.toString('base64url')].join('$');
}

/** Constant-time check of a password against a stored hash; false for a malformed hash. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [log2N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (![log2N, r, p].every((n) => Number.isInteger(n) && n > 0) || log2N > 22) return false;
  const expected = Buffer.from(parts[5]!, 'base64url');
  const key = await scrypt(password, Buffer.from(parts[4]!, 'base64url'), { log2N, r, p });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/** A password to hand out once (first admin, resets): 20 characters from an unambiguous alphabet, ~115 bits. */
export function generatePassword(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const bytes = randomBytes(20);
  return Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
}

/** One dummy scrypt hash per parameter set, made once: unknown users are checked against it (same time as a wrong password). */
const dummies = new Map<string, string>();
export function dummyHash(p: ScryptParams): string {
  const key = `${p.log2N}/${p.r}/${p.p}`;
  let h = dummies.get(key);
  if (!h) {
    h = ['scrypt', p.log2N, p.r, p.p, randomBytes(16).toString('base64url'), randomBytes(32).toString('base64url')].join('$');
    dummies.set(key, h);
  }
  return h;
}
