import type { FieldError } from '../errors/index.ts';
import { DEFAULT_MAX_CLOCK_SKEW_MS, MAX_FIELD_ERRORS, REPORT_LIMITS as L } from './limits.ts';
import { isDroneId, textProblem } from './text.ts';
import { parseRfc3339 } from './timestamp.ts';
import type { Report } from './types.ts';

/**
 * The hand-written validator of report format v1. It states the same rules as schema/report.v1.json (a test checks
 * that both agree on a corpus) plus two the schema cannot express: the future-timestamp limit and well-formed
 * Unicode. It is written for the ingestion hot path: no allocation when the report is valid except the result,
 * paths and messages built only for errors, every error collected (not just the first).
 */

export interface ValidateOptions {
  /** "Now" for the future-timestamp rule, epoch ms. Default Date.now(). */
  now?: number;
  /** How far in the future a timestamp may be. Default 5 minutes. */
  maxClockSkewMs?: number;
}

export type ValidationResult = { ok: true; report: Report; ts: number } | { ok: false; errors: FieldError[] };

const REQUIRED = 'is required';
const UNKNOWN = 'unknown field';
const NOT_OBJECT = 'must be an object';
const DRONE_ID_RULE = `must match [A-Za-z0-9._-]{1,${L.droneIdMaxLength}}`;
const TIMESTAMP_RULE = 'must be an RFC 3339 date-time such as 2026-11-28T03:10:00Z';

// Errors of the report being checked; reset per call, copied out only when the report is invalid.
const errors: FieldError[] = [];

function fail(field: string, reason: string): void {
  if (errors.length < MAX_FIELD_ERRORS) errors.push({ field, reason });
  else if (errors.length === MAX_FIELD_ERRORS) errors.push({ field: '', reason: `more than ${MAX_FIELD_ERRORS} errors; the rest are not listed` });
}

/** Only plain objects: what JSON.parse makes. A class instance could carry getters JSON.stringify would not publish. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function numberProblem(v: unknown, min: number, max: number): string | undefined {
  if (typeof v !== 'number') return 'must be a number';
  if (v - v !== 0) return 'must be a finite number'; // NaN and ±Infinity
  if (v < min) return `must be >= ${min}`;
  if (v > max) return `must be <= ${max}`;
  return undefined;
}

function countKeys(o: object): number {
  let n = 0;
  for (const _ in o) n++;
  return n;
}

/** Called only when an object has more keys than known fields present: names each unknown one. */
function failUnknownKeys(o: object, prefix: string, isKnown: (k: string) => boolean): void {
  for (const k in o) if (!isKnown(k)) fail(prefix + k, UNKNOWN);
}

const isReportKey = (k: string): boolean => k === 'droneId' || k === 'timestamp' || k === 'position' || k === 'citizens' || k === 'words';
const isPositionKey = (k: string): boolean => k === 'lat' || k === 'lon';
const isCitizenKey = (k: string): boolean => k === 'name' || k === 'score';

function checkPosition(v: unknown): void {
  if (!isPlainObject(v)) return fail('position', NOT_OBJECT);
  let present = 0;
  const lat = v.lat;
  if (lat === undefined) fail('position.lat', REQUIRED);
  else {
    present++;
    const p = numberProblem(lat, -90, 90);
    if (p !== undefined) fail('position.lat', p);
  }
  const lon = v.lon;
  if (lon === undefined) fail('position.lon', REQUIRED);
  else {
    present++;
    const p = numberProblem(lon, -180, 180);
    if (p !== undefined) fail('position.lon', p);
  }
  if (countKeys(v) !== present) failUnknownKeys(v, 'position.', isPositionKey);
}

function checkCitizen(v: unknown, i: number): void {
  if (!isPlainObject(v)) return fail(`citizens[${i}]`, NOT_OBJECT);
  let present = 0;
  const name = v.name;
  if (name === undefined) fail(`citizens[${i}].name`, REQUIRED);
  else {
    present++;
    const p = textProblem(name, L.citizenNameMaxLength);
    if (p !== undefined) fail(`citizens[${i}].name`, p);
  }
  const score = v.score;
  if (score === undefined) fail(`citizens[${i}].score`, REQUIRED);
  else {
    present++;
    const p = numberProblem(score, L.scoreMin, L.scoreMax);
    if (p !== undefined) fail(`citizens[${i}].score`, p);
  }
  if (countKeys(v) !== present) failUnknownKeys(v, `citizens[${i}].`, isCitizenKey);
}

function checkCitizens(v: unknown): void {
  if (!Array.isArray(v)) return fail('citizens', 'must be an array');
  // Entries of an over-long array are not checked: the error list stays short and the fix is the same.
  if (v.length > L.maxCitizens) return fail('citizens', `must have at most ${L.maxCitizens} entries`);
  for (let i = 0; i < v.length; i++) checkCitizen(v[i], i);
}

function checkWords(v: unknown): void {
  if (!Array.isArray(v)) return fail('words', 'must be an array');
  if (v.length > L.maxWords) return fail('words', `must have at most ${L.maxWords} entries`);
  for (let i = 0; i < v.length; i++) {
    const p = textProblem(v[i], L.wordMaxLength);
    if (p !== undefined) fail(`words[${i}]`, p);
  }
}

function formatSeconds(ms: number): string {
  return `${ms / 1000} s`;
}

/** Checks a report; returns its epoch-ms time if valid, NaN if not (the reasons are then in `errors`). */
function checkReport(input: unknown, now: number, maxClockSkewMs: number): number {
  errors.length = 0;
  if (!isPlainObject(input)) {
    fail('', 'must be a JSON object');
    return NaN;
  }
  let present = 0;

  const droneId = input.droneId;
  if (droneId === undefined) fail('droneId', REQUIRED);
  else {
    present++;
    if (typeof droneId !== 'string') fail('droneId', 'must be a string');
    else if (!isDroneId(droneId, L.droneIdMaxLength)) fail('droneId', DRONE_ID_RULE);
  }

  let ts = NaN;
  const timestamp = input.timestamp;
  if (timestamp === undefined) fail('timestamp', REQUIRED);
  else {
    present++;
    if (typeof timestamp !== 'string') fail('timestamp', 'must be a string');
    else {
      ts = parseRfc3339(timestamp);
      if (Number.isNaN(ts)) fail('timestamp', TIMESTAMP_RULE);
      else if (ts - now > maxClockSkewMs) fail('timestamp', `must not be more than ${formatSeconds(maxClockSkewMs)} in the future`);
    }
  }

  const position = input.position;
  if (position === undefined) fail('position', REQUIRED);
  else {
    present++;
    checkPosition(position);
  }

  const citizens = input.citizens;
  if (citizens === undefined) fail('citizens', REQUIRED);
  else {
    present++;
    checkCitizens(citizens);
  }

  const words = input.words;
  if (words === undefined) fail('words', REQUIRED);
  else {
    present++;
    checkWords(words);
  }

  if (countKeys(input) !== present) failUnknownKeys(input, '', isReportKey);
  return errors.length === 0 ? ts : NaN;
}

/**
 * Validates one report (any value: typically the output of JSON.parse). On success returns the input object itself
 * (not a copy) and its time in epoch ms (UTC, truncated to the millisecond).
 */
export function validateReport(input: unknown, opts?: ValidateOptions): ValidationResult {
  const now = opts?.now ?? Date.now();
  const skew = opts?.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
  const ts = checkReport(input, now, skew);
  if (Number.isNaN(ts)) return { ok: false, errors: errors.slice() };
  return { ok: true, report: input as Report, ts };
}
