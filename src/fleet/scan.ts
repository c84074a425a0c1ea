/**
 * The five fields the fleet map reads of a `reports` record (droneId, tenant, ts, position.lat, position.lon), found
 * by a byte scan instead of JSON.parse: the tracker reads every report, and parsing each whole (citizens, words, a
 * string per field) was the largest allocation of the embedded process's main thread (~1.3 KB a report, 132 of
 * ~480 MB in 10 s at 10,000 reports/s), i.e. more young-generation collections on the thread that raises alerts.
 *
 * Exact or nothing: `undefined` means "parse it" (the caller falls back to JSON.parse), never a wrong value.
 * - A key literal with its quotes (`"lat":`) cannot occur inside a JSON string, whose quotes are escaped, so every hit
 *   is a key. Each key must occur exactly once: a duplicate (JSON.parse keeps the last) or a nested use of the same
 *   name answers undefined. In a validated report `lat`/`lon` exist only in `position`, and `droneId`, `ts`, `tenant`
 *   only at the top level (unknown fields are refused), so for every record ingestion writes the scan is exact.
 * - A `\u` escape anywhere could spell a key another way: undefined. A string value holding a backslash: undefined.
 * - Whitespace after a colon (not what JSON.stringify writes): undefined.
 */
import { numberTextEnd } from '../contract/number-bytes.ts';

/** What the map reads of a report; as parsed JSON, any field may be missing or of another type. */
export interface ReportFields {
  droneId?: unknown;
  ts?: unknown;
  tenant?: unknown;
  position?: { lat?: unknown; lon?: unknown };
}

const KEY = {
  droneId: Buffer.from('"droneId":"'),
  tenant: Buffer.from('"tenant":"'),
  ts: Buffer.from('"ts":'),
  position: Buffer.from('"position":{'),
  lat: Buffer.from('"lat":'),
  lon: Buffer.from('"lon":'),
} as const;
const UNICODE_ESCAPE = Buffer.from('\\u');
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export function scanReportFields(value: Uint8Array): ReportFields | undefined {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (v.indexOf(UNICODE_ESCAPE) !== -1) return undefined;
  const droneId = stringAfter(v, KEY.droneId);
  const tenant = stringAfter(v, KEY.tenant);
  const ts = numberAfter(v, KEY.ts);
  const lat = numberAfter(v, KEY.lat);
  const lon = numberAfter(v, KEY.lon);
  if (droneId === undefined || tenant === undefined || ts === undefined || lat === undefined || lon === undefined) return undefined;
  // lat and lon must be position's: its object opens before them and no other object closes in between.
  const pos = onlyAt(v, KEY.position);
  if (pos === -1) return undefined;
  const open = pos + KEY.position.length;
  const close = v.indexOf(0x7d, open);
  const latAt = v.indexOf(KEY.lat, open);
  const lonAt = v.indexOf(KEY.lon, open);
  if (close === -1 || latAt === -1 || lonAt === -1 || latAt > close || lonAt > close) return undefined;
  return { droneId, tenant, ts, position: { lat, lon } };
}

/** Index of the one occurrence of `key`, or -1 when it is missing or repeated. */
function onlyAt(v: Buffer, key: Buffer): number {
  const at = v.indexOf(key);
  if (at === -1 || v.indexOf(key, at + key.length) !== -1) return -1;
  return at;
}

function stringAfter(v: Buffer, key: Buffer): string | undefined {
  const at = onlyAt(v, key);
  if (at === -1) return undefined;
  const start = at + key.length;
  const end = v.indexOf(QUOTE, start);
  if (end === -1) return undefined;
  // An escape inside the value would need JSON's unescaping: leave that to JSON.parse.
  const bs = v.indexOf(BACKSLASH, start);
  if (bs !== -1 && bs < end) return undefined;
  return v.toString('utf8', start, end);
}

function numberAfter(v: Buffer, key: Buffer): number | undefined {
  const at = onlyAt(v, key);
  if (at === -1) return undefined;
  const start = at + key.length;
  const j = numberTextEnd(v, start);
  if (j === start) return undefined;
  // A number ends at a comma or a closing brace in JSON.stringify's output; anything else is not for this scan.
  if (v[j] !== 0x2c && v[j] !== 0x7d) return undefined;
  const n = Number(v.toString('latin1', start, j));
  return Number.isFinite(n) ? n : undefined;
}
