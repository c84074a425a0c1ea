import { chartFromResult, isNumericType, type ChartSpec } from '../components/Chart.tsx';
import type { QueryResult } from '../lib/types.ts';

interface Hint {
  x: string;
  y: string[];
  kind: 'bar' | 'line';
  /** Rows to chart (e.g. one grouping of reaction-time); default all. */
  rows?: (r: QueryResult) => unknown[][];
  /** Chart at most this many rows (long top-N lists). */
  max?: number;
  /** The x values to show as labels (e.g. every hour of the day, empty ones at 0). */
  complete?: (r: QueryResult, rows: unknown[][]) => { columns: string[]; columnTypes: string[]; rows: unknown[][] };
}

/** Every hour 00-23 (hours without alerts at 0), labelled 00:00..23:00: a day reads as a day. */
function allHours(r: QueryResult, rows: unknown[][]): { columns: string[]; columnTypes: string[]; rows: unknown[][] } {
  const h = r.columns.indexOf('hour_of_day');
  const n = r.columns.indexOf('alerts');
  const byHour = new Map(rows.map((row) => [Number(row[h]), row[n]]));
  return {
    columns: ['hour_of_day', 'alerts'],
    columnTypes: ['VARCHAR', 'BIGINT'],
    rows: Array.from({ length: 24 }, (_, i) => [`${String(i).padStart(2, '0')}:00`, byHour.get(i) ?? 0]),
  };
}

/**
 * How each ready-made statistic is best drawn (docs/analysis.md lists them). Series of very different magnitudes
 * (words heard vs heard in alert reports) are drawn on two axes (Chart); the table beside the chart has every column.
 */
const HINTS: Record<string, Hint> = {
  'alerts-by-hour': { x: 'hour_of_day', y: ['alerts'], kind: 'bar', complete: allHours },
  'alerts-by-weekday': { x: 'day_name', y: ['alerts'], kind: 'bar' },
  'alert-rate-daily': { x: 'day', y: ['alert_rate'], kind: 'bar' },
  'top-drones': { x: 'drone_id', y: ['reports'], kind: 'bar', max: 50 },
  'active-drones-hourly': { x: 'hour_start', y: ['active_drones'], kind: 'line' },
  'silent-drones': { x: 'drone_id', y: ['gap_minutes'], kind: 'bar', max: 50 },
  'top-words': { x: 'word', y: ['heard', 'heard_in_alert_reports'], kind: 'bar', max: 50 },
  'alert-words-lift': { x: 'word', y: ['lift'], kind: 'bar', max: 50 },
  'score-by-word': { x: 'word', y: ['avg_score'], kind: 'bar', max: 50 },
  'citizens-most-alerts': { x: 'citizen', y: ['alerts'], kind: 'bar', max: 50 },
  'citizens-score-drop': { x: 'citizen', y: ['drop'], kind: 'bar', max: 50 },
  'reaction-time': {
    x: 'bucket', y: ['ack_p50_s', 'ack_p90_s', 'resolve_p50_s', 'resolve_p90_s'], kind: 'bar',
    rows: (r) => {
      const g = r.columns.indexOf('grouping');
      const days = r.rows.filter((row) => row[g] === 'day');
      return days.length > 1 ? days : r.rows.filter((row) => row[g] === 'hour');
    },
  },
  'reports-daily': { x: 'day', y: ['reports'], kind: 'bar' },
  'day-periods': { x: 'period', y: ['alert_reports', 'alerts'], kind: 'bar' },
  // Incidents (docs/incidents.md); incident-areas is drawn as a heat map like hotspots (StatsPage).
  'incidents-daily': { x: 'day', y: ['incidents', 'gatherings', 'growing'], kind: 'bar', rows: (r) => perDay(r, ['incidents', 'gatherings', 'growing']) },
  'incident-ack-time': { x: 'day', y: ['ack_p50_s', 'ack_p90_s'], kind: 'bar' },
  'incident-growth': { x: 'incident_id', y: ['citizens_gained'], kind: 'bar', max: 50 },
  // One bar group per rule set version (days and rules summed; the table keeps them): what each version raised.
  'alerts-by-rule-version': { x: 'rule_version', y: ['alerts', 'silenced'], kind: 'bar', complete: perVersion },
};

/** alerts-by-rule-version summed per version, labelled v1, v2, ... after "before versions" (NULL: see its SQL). */
function perVersion(r: QueryResult, rows: unknown[][]): { columns: string[]; columnTypes: string[]; rows: unknown[][] } {
  const [v, a, s] = ['rule_version', 'alerts', 'silenced'].map((c) => r.columns.indexOf(c)) as [number, number, number];
  const sums = new Map<number | null, [number, number]>();
  for (const row of rows) {
    const key = row[v] === null || row[v] === undefined ? null : Number(row[v]);
    const cur = sums.get(key) ?? [0, 0];
    sums.set(key, [cur[0] + Number(row[a]), cur[1] + Number(row[s] ?? 0)]);
  }
  const keys = [...sums.keys()].sort((x, y) => (x === null ? -1 : y === null ? 1 : x - y));
  return {
    columns: ['rule_version', 'alerts', 'silenced'],
    columnTypes: ['VARCHAR', 'BIGINT', 'BIGINT'],
    rows: keys.map((k) => [k === null ? 'before versions' : `v${k}`, ...sums.get(k)!]),
  };
}

/** incidents-daily has a row per day and severity: summed per day for the chart (the table keeps the severities). */
function perDay(r: QueryResult, cols: readonly string[]): unknown[][] {
  const d = r.columns.indexOf('day');
  const idx = cols.map((c) => r.columns.indexOf(c));
  const sums = new Map<string, number[]>();
  for (const row of r.rows) {
    const key = String(row[d]);
    const cur = sums.get(key) ?? cols.map(() => 0);
    idx.forEach((i, k) => { cur[k]! += Number(row[i]); });
    sums.set(key, cur);
  }
  return [...sums].map(([day, v]) => r.columns.map((c, i) => (i === d ? day : idx.includes(i) ? v[idx.indexOf(i)] : c === 'severity' ? 'all' : null)));
}

/** The statistic's chart; an unknown statistic (a new SQL file) gets its first column against its numeric ones. */
export function chartForStat(name: string, r: QueryResult): ChartSpec | null {
  const hint = HINTS[name];
  if (hint && hint.y.every((c) => r.columns.includes(c)) && r.columns.includes(hint.x)) {
    const rows = (hint.rows?.(r) ?? r.rows).slice(0, hint.max ?? Infinity);
    if (hint.complete) {
      const c = hint.complete(r, rows);
      return chartFromResult(c.columns, c.columnTypes, c.rows, hint.x, hint.y, hint.kind);
    }
    return chartFromResult(r.columns, r.columnTypes, rows, hint.x, hint.y, hint.kind);
  }
  const x = r.columns[0];
  const ys = r.columns.filter((c, i) => i > 0 && isNumericType(r.columnTypes[i] ?? ''));
  if (!x || ys.length === 0) return null;
  return chartFromResult(r.columns, r.columnTypes, r.rows.slice(0, 100), x, ys.slice(0, 3), 'bar');
}
