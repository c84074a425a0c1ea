/**
 * String checks shared by the validator. Lengths are counted in Unicode code points, like JSON Schema's
 * minLength/maxLength (a surrogate pair is one character), so the validator and the schema agree.
 */

/** ECMAScript `\s` (WhiteSpace + LineTerminator): what the schema's `\S` pattern means. */
export function isWhitespace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f ||
    c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * Why `v` is not an acceptable text of 1..maxLength characters, or undefined if it is.
 * Unpaired surrogates are refused: they cannot be encoded as UTF-8, so Parquet writers and other languages would
 * mangle or reject them later; better to say so to the drone now.
 */
export function textProblem(v: unknown, maxLength: number): string | undefined {
  if (typeof v !== 'string') return 'must be a string';
  const n = v.length;
  if (n === 0) return `must be 1-${maxLength} characters`;
  // A code point takes 1 or 2 UTF-16 units: at most maxLength units is within the limit without counting.
  if (n > maxLength && codePointCount(v) > maxLength) return `must be 1-${maxLength} characters`;
  if (!(v as unknown as WellFormedCheck).isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogates)';
  if (isWhitespace(v.charCodeAt(0)) && isBlank(v)) return 'must not be blank';
  return undefined;
}

/** String.prototype.isWellFormed (ES2024, native in Node 20) is missing from the ES2022 type library. */
interface WellFormedCheck {
  isWellFormed(): boolean;
}

/** Counts like JSON Schema (ajv's ucs2length): a surrogate pair is one, an unpaired surrogate is one. */
function codePointCount(v: string): number {
  const n = v.length;
  let count = 0;
  for (let i = 0; i < n; i++) {
    count++;
    const c = v.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && (v.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return count;
}

function isBlank(v: string): boolean {
  for (let i = 0; i < v.length; i++) if (!isWhitespace(v.charCodeAt(i))) return false;
  return true;
}

const DRONE_ID_CHARS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9._-]/.test(ch)) DRONE_ID_CHARS[c] = 1;
}

/** `^[A-Za-z0-9._-]{1,maxLength}$` without a regex (the hot path runs this for every report). */
export function isDroneId(v: string, maxLength: number): boolean {
  const n = v.length;
  if (n === 0 || n > maxLength) return false;
  for (let i = 0; i < n; i++) {
    const c = v.charCodeAt(i);
    if (c >= 128 || DRONE_ID_CHARS[c] === 0) return false;
  }
  return true;
}
