/**
 * What the alert worker reads of each report record: a byte scan that proves most reports cannot alert without
 * parsing them (most of the worker's cost was JSON.parse), and the parse of the others.
 */
import { numberTextEnd } from '../contract/number-bytes.ts';
import type { AcceptedReport } from '../contract/types.ts';

const SCORE_KEY = Buffer.from('"score"');
const UNICODE_ESCAPE = Buffer.from('\\u');

/**
 * True when the report's JSON cannot make any rule fire: every `"score"` key in it is directly followed by `:` and a
 * number at or above `min` (the highest threshold of any rule; a report with no score cannot alert either). Anything
 * else answers false and the report is parsed: a `\u` escape anywhere (a key could be spelled with escapes), a
 * `"score"` not followed by a colon (whitespace, or the word as a string value), a number that does not read.
 * Conservative by construction: the literal `"score"` cannot occur inside a JSON string (its quotes would be
 * escaped), so every score key JSON.parse would see is one this scan reads, and a duplicate key only makes it parse.
 */
export function cannotAlert(value: Uint8Array, min: number): boolean {
  const v = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (v.indexOf(UNICODE_ESCAPE) !== -1) return false;
  for (let i = v.indexOf(SCORE_KEY); i !== -1; i = v.indexOf(SCORE_KEY, i)) {
    let j = i + SCORE_KEY.length;
    if (v[j] !== 0x3a) return false;
    const start = j + 1;
    j = numberTextEnd(v, start);
    if (j === start) return false;
    const score = Number(v.toString('latin1', start, j));
    if (!(score >= min)) return false;
    i = j;
  }
  return true;
}

/** Ingestion validated the report; this only guards the fields the rules and the store read. */
export function parseReport(value: Uint8Array): AcceptedReport | undefined {
  let r: AcceptedReport;
  try {
    r = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8')) as AcceptedReport;
  } catch {
    return undefined;
  }
  if (
    r === null || typeof r !== 'object' || typeof r.reportId !== 'string' || typeof r.droneId !== 'string' ||
    typeof r.tenant !== 'string' || typeof r.ts !== 'number' || !Array.isArray(r.citizens) || !Array.isArray(r.words) ||
    r.position === null || typeof r.position !== 'object' || typeof r.position.lat !== 'number' ||
    typeof r.position.lon !== 'number'
  ) return undefined;
  return r;
}
