/**
 * Byte scans over a report's JSON text (as ingestion stored it), shared by the readers that look at a few fields
 * without parsing the whole record: the alert worker's prefilter (src/alerts/report-scan.ts) and the fleet map's
 * field scan (src/fleet/scan.ts).
 */

/**
 * Index just past the characters a JSON number can be written with (digits, `.`, `-`, `+`, `e`, `E`) from `start`:
 * `start` itself when there are none. Whether those characters are a number is the caller's to check (e.g. by
 * `Number()` of the text in between, and by what follows it).
 */
export function numberTextEnd(v: Uint8Array, start: number): number {
  let j = start;
  for (; j < v.length; j++) {
    const c = v[j]!;
    // digits, '.', '-', '+', 'e', 'E'
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45)) break;
  }
  return j;
}
