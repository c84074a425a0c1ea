import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DwError } from '../errors/index.ts';
import type { LakeQuery, QueryResult, TimeRange } from '../lake/index.ts';

/**
 * Ready-made statistics: one documented SQL file per statistic in ./stats/ (officers read and adapt them), with
 * named placeholders (`:from`, `:to`, `:cell`, `:minutes`, `:limit`, `:tz`, and `:stop_words`, the list of
 * ./stopwords/*.txt). LakeQuery.run() takes SQL text only, so the runner validates every parameter and substitutes a
 * SQL literal it builds itself, never the user's text.
 */
const HERE = path.dirname(fileURLToPath(import.meta.url));
const STATS_DIR = path.join(HERE, 'stats');
const STOP_WORDS_DIR = path.join(HERE, 'stopwords');

export type StatOption = 'cell' | 'minutes' | 'limit' | 'tz';
type NumberOption = Exclude<StatOption, 'tz'>;

export interface StatInfo {
  name: string;
  /** The question it answers (the `-- answers:` header line). */
  description: string;
  /** Parameters the SQL file uses besides from/to. */
  options: StatOption[];
  sql: string;
}

/** Raw parameters as a user gives them (CLI strings or numbers/Dates from code). Undefined = default. */
export interface StatParams {
  from?: string | Date | undefined;
  to?: string | Date | undefined;
  cell?: string | number | undefined;
  minutes?: string | number | undefined;
  limit?: string | number | undefined;
  /** IANA time zone of the hours and days of a statistic that groups by them (default UTC). */
  tz?: string | undefined;
}

const OPTIONS: Record<NumberOption, { default: number; min: number; max: number; integer: boolean; minExclusive: boolean }> = {
  // Cell corners are rounded to 9 decimals (hotspots.sql): a micro-degree (0.1 m) is the finest cell that keeps them apart.
  cell: { default: 0.005, min: 0.000001, max: 10, integer: false, minExclusive: false },
  minutes: { default: 10, min: 0, max: 525_600, integer: false, minExclusive: true },
  limit: { default: 20, min: 1, max: 100_000, integer: true, minExclusive: false },
};

const OPTION_NAMES: readonly StatOption[] = ['cell', 'minutes', 'limit', 'tz'];
const PLACEHOLDER = /(?<![:\w]):(from|to|cell|minutes|limit|tz|stop_words)\b/g;

let cache: StatInfo[] | undefined;

/** A bad parameter: one line naming the option for the CLI, and the field for the API's `errors`. */
function paramError(field: string, reason: string, message = `--${field}: ${reason}`): DwError {
  return new DwError('DW_CONFIG_INVALID', message, { status: 400, details: [{ field, reason }] });
}

function parseStatFile(file: string): StatInfo {
  const sql = readFileSync(path.join(STATS_DIR, file), 'utf8');
  const header = (key: string): string | undefined => sql.match(new RegExp(`^-- ${key}: (.*)$`, 'm'))?.[1]?.trim();
  const name = header('name');
  const description = header('answers');
  if (name !== file.replace(/\.sql$/, '') || !description) throw new DwError('DW_INTERNAL', `stats/${file}: header must give "-- name: ${file.replace(/\.sql$/, '')}" and "-- answers: ..."`);
  const used = new Set([...sql.matchAll(PLACEHOLDER)].map((m) => m[1]!));
  const options = OPTION_NAMES.filter((o) => used.has(o));
  return { name, description, options, sql };
}

/** Every statistic, sorted by name. */
export function listStats(): StatInfo[] {
  cache ??= readdirSync(STATS_DIR).filter((f) => f.endsWith('.sql')).sort().map(parseStatFile);
  return cache.map((s) => ({ ...s, options: [...s.options] }));
}

export function getStat(name: string): StatInfo {
  const stat = listStats().find((s) => s.name === name);
  if (!stat) throw new DwError('DW_QUERY_FAILED', `unknown statistic "${name}"; run \`dronewatch stats\` for the list`, { status: 404 });
  return stat;
}

function instant(name: string, v: string | Date | undefined): Date | undefined {
  if (v === undefined) return undefined;
  const d = v instanceof Date ? new Date(v.getTime()) : /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) ? new Date(v) : new Date(Number.NaN);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() < 1 || d.getUTCFullYear() > 9999) throw paramError(name, `must be an ISO 8601 date or timestamp (years 0001-9999), got "${String(v)}"`);
  return d;
}

function timestampLiteral(d: Date | undefined, fallback: string): string {
  if (!d) return `CAST('${fallback}' AS TIMESTAMP)`;
  const iso = d.toISOString(); // built here from a valid Date: digits, '-', ':', 'T', '.', 'Z' only
  return `CAST('${iso.slice(0, 23).replace('T', ' ')}' AS TIMESTAMP)`;
}

function numberParam(name: NumberOption, v: string | number | undefined): number {
  const spec = OPTIONS[name];
  if (v === undefined) return spec.default;
  const n = typeof v === 'number' ? v : v.trim() === '' ? Number.NaN : Number(v);
  const low = spec.minExclusive ? n > spec.min : n >= spec.min;
  if (!Number.isFinite(n) || !low || n > spec.max || (spec.integer && !Number.isInteger(n))) {
    const range = `${spec.minExclusive ? '>' : '>='} ${spec.min} and <= ${spec.max}`;
    throw paramError(name, `must be ${spec.integer ? 'an integer' : 'a number'} ${range}, got "${String(v)}"`);
  }
  return n;
}

/**
 * An IANA time zone name (Europe/Paris, UTC, America/New_York): checked against the zones this Node knows, and
 * written into the SQL only after that check (letters, digits, '/', '_', '+', '-').
 */
function timeZoneParam(v: string | undefined): string {
  if (v === undefined) return 'UTC';
  const ok = /^[A-Za-z][A-Za-z0-9_+\-/]{0,63}$/.test(v) && (() => {
    try {
      new Intl.DateTimeFormat('en', { timeZone: v });
      return true;
    } catch {
      return false;
    }
  })();
  if (!ok) throw paramError('tz', `must be an IANA time zone such as Europe/Paris or UTC, got "${v}"`);
  return v;
}

let stopWords: string[] | undefined;

/** Every word of the stop-word lists (./stopwords/<language>.txt), in lower case, sorted. */
export function listStopWords(): { language: string; words: string[] }[] {
  return readdirSync(STOP_WORDS_DIR).filter((f) => f.endsWith('.txt')).sort().map((f) => ({
    language: f.replace(/\.txt$/, ''),
    words: readFileSync(path.join(STOP_WORDS_DIR, f), 'utf8').split('\n').map((l) => l.trim().toLowerCase()).filter((l) => l !== '' && !l.startsWith('#')),
  }));
}

function stopWordsLiteral(): string {
  stopWords ??= [...new Set(listStopWords().flatMap((l) => l.words))].sort();
  return `[${stopWords.map((w) => `'${w.replace(/'/g, "''")}'`).join(', ')}]::VARCHAR[]`;
}

/** The statistic's SQL with every placeholder replaced by a validated literal. */
export function statSql(name: string, params: StatParams = {}): string {
  const stat = getStat(name);
  for (const o of OPTION_NAMES) {
    if (params[o] !== undefined && !stat.options.includes(o)) throw paramError(o, `not a parameter of "${name}" (it takes ${['from', 'to', ...stat.options].map((x) => `--${x}`).join(', ')})`);
  }
  const from = instant('from', params.from);
  const to = instant('to', params.to);
  if (from && to && from.getTime() > to.getTime()) throw paramError('from', `is after to (${to.toISOString()})`, `--from (${from.toISOString()}) is after --to (${to.toISOString()})`);
  const literals: Record<string, string> = {
    from: timestampLiteral(from, '-infinity'),
    to: timestampLiteral(to, 'infinity'),
  };
  // String(n) of a finite number is a valid DuckDB numeric literal (exponent form included); DOUBLE keeps it exact.
  for (const o of stat.options) {
    if (o === 'tz') literals[o] = `'${timeZoneParam(params.tz)}'`;
    else literals[o] = o === 'limit' ? String(numberParam(o, params[o])) : `CAST(${String(numberParam(o, params[o]))} AS DOUBLE)`;
  }
  literals.stop_words = stopWordsLiteral();
  return stat.sql.replace(PLACEHOLDER, (_m, p: string) => literals[p]!);
}

/**
 * The time range a statistic's from/to cover (validated as statSql does), for pruning the files it reads; undefined
 * when it has neither. A statistic's `to` is exclusive, so the hour starting at `to` is not read: a day is 24 hours.
 */
export function statRange(params: StatParams = {}): TimeRange | undefined {
  const from = instant('from', params.from);
  const to = instant('to', params.to);
  if (!from && !to) return undefined;
  return { ...(from ? { from } : {}), ...(to ? { to: new Date(to.getTime() - 1) } : {}) };
}

/** An ISO 8601 instant given by a user (`from`/`to` of a query or export), parsed as statistics parse theirs. */
export function parseInstant(field: 'from' | 'to', v: string | Date | undefined): Date | undefined {
  return instant(field, v);
}

/** A query's from/to as a TimeRange (undefined when neither is given); from after to is refused. */
export function rangeOf(from: string | Date | undefined, to: string | Date | undefined): TimeRange | undefined {
  const f = instant('from', from);
  const t = instant('to', to);
  if (f && t && f.getTime() > t.getTime()) throw paramError('from', `is after to (${t.toISOString()})`, `--from (${f.toISOString()}) is after --to (${t.toISOString()})`);
  if (!f && !t) return undefined;
  return { ...(f ? { from: f } : {}), ...(t ? { to: t } : {}) };
}

/** Runs one statistic on an open lake. */
export async function runStat(lake: LakeQuery, name: string, params: StatParams = {}): Promise<QueryResult> {
  return lake.run(statSql(name, params));
}
