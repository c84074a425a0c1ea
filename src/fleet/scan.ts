/**
 * The five fields the fleet map reads of a `reports` record (droneId, tenant, ts, position.lat, position.lon), found
 * by a byte scan instead of JSON.parse: the tracker reads every report, and parsing each whole (citizens, words, a
 * string per field) was the largest allocation of the embedded process's main thread (~1.3 KB a report, 132 of
 * ~480 MB in 10 s at 10,000 reports/s), i.e. more young-generation collections on the thread that raises alerts.
 *
 * Exact or nothing: `undefined` means "parse it" (the caller falls back to JSON.parse), never a wrong value.
 * - One pass over the bytes, stepping over strings: a string followed by a colon is a key (JSON.stringify writes no
 *   whitespace), and `{`/`}` outside strings give the depth. `droneId`, `tenant`, `ts` and `position` are read at the
 *   top level only, `lat` and `lon` in `position`'s object only (the same names elsewhere, e.g. in a citizen, are not
 *   what JSON.parse would give those fields); each must occur there exactly once (JSON.parse keeps the last of a
 *   repeated key: undefined). The text must be one object: `{` first, closed by its last byte.
 * - A `\u` escape in any string could spell a key another way: undefined. A string value read here holding a
 *   backslash: undefined.
 * - Whitespace after a colon (not what JSON.stringify writes): undefined.
 * (It was a dozen Buffer.indexOf calls, each searching the rest of the record and each a native call: 17 us a report
 * under the profiler, the largest item of the main thread at 10,000 reports/s; one pass is a few.)
 */
import { numberTextEnd } from '../contract/number-bytes.ts';

/** What the map reads of a report; as parsed JSON, any field may be missing or of another type. */
export interface ReportFields {
  droneId?: unknown;
  ts?: unknown;
  tenant?: unknown;
  position?: { lat?: unknown; lon?: unknown };
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const LETTER_U = 0x75;

/** Whether the bytes v[start, start + name.length) spell `name` (ASCII). */
function spells(v: Buffer, start: number, name: string): boolean {
  for (let k = 0; k < name.length; k++) if (v[start + k] !== name.charCodeAt(k)) return false;
  return true;
}

export function scanReportFields(value: Uint8Array): ReportFields | undefined {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  const n = v.length;
  // Where each key's value starts (just past its colon); -1 not seen.
  let droneIdAt = -1, tenantAt = -1, tsAt = -1, positionAt = -1, latAt = -1, lonAt = -1;
  if (v[0] !== OPEN) return undefined;
  let depth = 0;
  /** Depth of position's object while the scan is in it; -1 before it opens and after it closes. */
  let positionDepth = -1;
  for (let i = 0; i < n; i++) {
    const c = v[i]!;
    if (c === OPEN) {
      depth++;
      continue;
    }
    if (c === CLOSE) {
      if (depth === positionDepth) positionDepth = -1;
      depth--;
      // The top-level object ends with the text: anything after it is not one JSON value.
      if (depth === 0 && i !== n - 1) return undefined;
      continue;
    }
    if (c !== QUOTE) continue;
    const start = i + 1;
    let j = start;
    for (; j < n; j++) {
      const b = v[j]!;
      if (b === QUOTE) break;
      if (b === BACKSLASH) {
        if (v[j + 1] === LETTER_U) return undefined;
        j++;
      }
    }
    if (j >= n) return undefined;
    i = j;
    if (v[j + 1] !== COLON) continue;
    const at = j + 2;
    const len = j - start;
    if (depth === 1) {
      if (len === 2 && spells(v, start, 'ts')) {
        if (tsAt !== -1) return undefined;
        tsAt = at;
      } else if (len === 6 && spells(v, start, 'tenant')) {
        if (tenantAt !== -1) return undefined;
        tenantAt = at;
      } else if (len === 7 && spells(v, start, 'droneId')) {
        if (droneIdAt !== -1) return undefined;
        droneIdAt = at;
      } else if (len === 8 && spells(v, start, 'position')) {
        if (positionAt !== -1 || v[at] !== OPEN) return undefined;
        positionAt = at;
        positionDepth = 2;
      }
    } else if (depth === positionDepth && len === 3) {
      if (spells(v, start, 'lat')) {
        if (latAt !== -1) return undefined;
        latAt = at;
      } else if (spells(v, start, 'lon')) {
        if (lonAt !== -1) return undefined;
        lonAt = at;
      }
    }
  }
  if (depth !== 0) return undefined;
  if (droneIdAt === -1 || tenantAt === -1 || tsAt === -1 || latAt === -1 || lonAt === -1) return undefined;
  const droneId = stringAt(v, droneIdAt);
  const tenant = stringAt(v, tenantAt);
  const ts = numberAt(v, tsAt);
  const lat = numberAt(v, latAt);
  const lon = numberAt(v, lonAt);
  if (droneId === undefined || tenant === undefined || ts === undefined || lat === undefined || lon === undefined) return undefined;
  return { droneId, tenant, ts, position: { lat, lon } };
}

/** The string value starting at `at` (its opening quote), or undefined when it is not a string or holds an escape. */
function stringAt(v: Buffer, at: number): string | undefined {
  if (v[at] !== QUOTE) return undefined;
  let end = at + 1;
  for (; end < v.length; end++) {
    const b = v[end]!;
    if (b === QUOTE) break;
    if (b === BACKSLASH) return undefined;
  }
  if (end >= v.length) return undefined;
  return v.toString('utf8', at + 1, end);
}

function numberAt(v: Buffer, at: number): number | undefined {
  const j = numberTextEnd(v, at);
  if (j === at) return undefined;
  // A number ends at a comma or a closing brace in JSON.stringify's output; anything else is not for this scan.
  if (v[j] !== 0x2c && v[j] !== CLOSE) return undefined;
  const n = Number(v.toString('latin1', at, j));
  return Number.isFinite(n) ? n : undefined;
}
