/**
 * Strict RFC 3339 date-time parsing, by hand: `Date.parse` accepts many non-RFC forms (`2026-11-28 03:10`,
 * implementation-defined strings) and rolls `2026-02-30` over to March, which would give a report a wrong id.
 *
 * Accepted: `YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)`, `T` and `Z` in either case (RFC 3339 §5.6 allows it).
 * Rejected: leap seconds (`:60`; the instant would collide with the next second's), missing seconds or offset,
 * offsets without a colon, impossible dates. Fraction digits beyond milliseconds are truncated (not rounded), so
 * an instant maps to the millisecond it falls in and never rounds into the next second, day or year.
 */

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const MS_PER_DAY = 86_400_000;

function digitAt(s: string, i: number): number {
  const d = s.charCodeAt(i) - 48;
  return d >= 0 && d <= 9 ? d : -1; // NaN (past the end) fails both comparisons
}

function twoDigitsAt(s: string, i: number): number {
  const a = digitAt(s, i);
  const b = digitAt(s, i + 1);
  return a < 0 || b < 0 ? -1 : a * 10 + b;
}

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** Epoch milliseconds (UTC) of an RFC 3339 date-time, or NaN if `s` is not one. */
export function parseRfc3339(s: string): number {
  const n = s.length;
  if (n < 20) return NaN;
  const hi = twoDigitsAt(s, 0);
  const lo = twoDigitsAt(s, 2);
  if (hi < 0 || lo < 0) return NaN;
  const year = hi * 100 + lo;
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return NaN; // '-'
  const month = twoDigitsAt(s, 5);
  const day = twoDigitsAt(s, 8);
  const t = s.charCodeAt(10);
  if (t !== 84 && t !== 116) return NaN; // 'T' | 't'
  const hour = twoDigitsAt(s, 11);
  const minute = twoDigitsAt(s, 14);
  const second = twoDigitsAt(s, 17);
  if (s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN; // ':'
  if (month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return NaN;
  const daysInMonth = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  if (day > daysInMonth) return NaN;

  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) { // '.'
    i++;
    const start = i;
    for (let d = digitAt(s, i); d >= 0; d = digitAt(s, ++i)) {
      if (i - start < 3) ms = ms * 10 + d;
    }
    const digits = i - start;
    if (digits === 0) return NaN;
    if (digits === 1) ms *= 100;
    else if (digits === 2) ms *= 10;
  }

  const z = s.charCodeAt(i);
  let offsetMs = 0;
  if (z === 90 || z === 122) { // 'Z' | 'z'
    if (i + 1 !== n) return NaN;
  } else if (z === 43 || z === 45) { // '+' | '-'
    if (i + 6 !== n || s.charCodeAt(i + 3) !== 58) return NaN;
    const oh = twoDigitsAt(s, i + 1);
    const om = twoDigitsAt(s, i + 4);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    offsetMs = (oh * 60 + om) * 60_000;
    if (z === 45) offsetMs = -offsetMs;
  } else {
    return NaN;
  }
  // Local time = UTC + offset, so UTC = local time - offset.
  return daysFromCivil(year, month, day) * MS_PER_DAY + hour * 3_600_000 + minute * 60_000 + second * 1000 + ms - offsetMs;
}
