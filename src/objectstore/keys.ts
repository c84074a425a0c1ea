import { ObjectStoreRequestError } from './errors.ts';

/** First key segment reserved for the local store's temporary files (refused by both stores, for portability). */
export const RESERVED_SEGMENT = '.dw-tmp';
export const MAX_KEY_BYTES = 1024;
/** NAME_MAX of common file systems: a longer segment could not be a local file. */
export const MAX_SEGMENT_BYTES = 255;

const CONTROL = /[\u0000-\u001f\u007f]/;

function show(s: string): string {
  return JSON.stringify(s.length > 200 ? `${s.slice(0, 200)}...` : s);
}

/** Throws ObjectStoreRequestError unless `key` follows the rules in types.ts. */
export function checkKey(key: string): void {
  const bad = (rule: string): never => {
    throw new ObjectStoreRequestError(`invalid object key ${show(key)}: ${rule}`);
  };
  if (typeof key !== 'string' || key === '') bad('must not be empty');
  if (CONTROL.test(key)) bad('must not contain control characters');
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) bad(`must be at most ${MAX_KEY_BYTES} bytes`);
  const segments = key.split('/');
  if (segments[0] === RESERVED_SEGMENT) bad(`"${RESERVED_SEGMENT}" is reserved`);
  for (const s of segments) {
    if (s === '') bad('must not start or end with "/" nor contain "//"');
    if (s === '.' || s === '..') bad('must not contain "." or ".." segments');
    if (Buffer.byteLength(s) > MAX_SEGMENT_BYTES) bad(`segments must be at most ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/** A list prefix: '' or the beginning of a valid key (it may end in `/` or in the middle of a segment). */
export function checkPrefix(prefix: string): void {
  if (prefix === '') return;
  const bad = (rule: string): never => {
    throw new ObjectStoreRequestError(`invalid list prefix ${show(prefix)}: ${rule}`);
  };
  if (CONTROL.test(prefix)) bad('must not contain control characters');
  if (Buffer.byteLength(prefix) > MAX_KEY_BYTES) bad(`must be at most ${MAX_KEY_BYTES} bytes`);
  const segments = prefix.split('/');
  const complete = segments.slice(0, -1); // the last one may be partial
  for (const s of complete) if (s === '' || s === '.' || s === '..') bad('must not start with "/" nor contain "//", "." or ".." segments');
}

export function checkRange(offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new ObjectStoreRequestError(`invalid range: offset ${offset}, length ${length} (both must be integers >= 0)`);
  }
}

export function checkPageSize(pageSize: number | undefined): number {
  const n = pageSize ?? 1000;
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new ObjectStoreRequestError(`invalid page size ${n}: must be 1..1000`);
  return n;
}

/** S3's listing order: UTF-8 bytes (differs from JS string order for characters beyond the BMP). */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
