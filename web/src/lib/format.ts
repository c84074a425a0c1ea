import { columnDecimals } from '../../../src/util/decimals.ts';

/**
 * Dates, times and numbers in the user's locale (the browser's language: 05/12/2026 and 29,69 in French), always on
 * a 24-hour clock: police work in 24-hour time, and "05:17 AM" beside "03:27 AM" is easy to misread.
 */
const H23 = { hourCycle: 'h23' } as const;
const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', ...H23 });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', ...H23 });
const shortDateTimeFmt = new Intl.DateTimeFormat(undefined, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', ...H23 });
const hourMinuteFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', ...H23 });
const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit' });
const dayMonthFmt = new Intl.DateTimeFormat(undefined, { month: '2-digit', day: '2-digit' });
const numberFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
const fixedFmts = new Map<number, Intl.NumberFormat>();

/** The browser's time zone (IANA name): the clock of the hours and days the statistics are grouped by. */
export const TIME_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** "12 s", "4 min", "3 h 5 min", "2 d 4 h": how long ago, at a glance. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** A duration with one decimal below a minute: "0.8 s", "42.0 s", "3 min", "1 h 2 min". */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return formatAge(ms);
}

export function formatTime(epochMs: number): string {
  return timeFmt.format(epochMs);
}

export function formatDateTime(epochMs: number): string {
  return dateTimeFmt.format(epochMs);
}

export function formatNumber(n: number): string {
  return numberFmt.format(n);
}

/** A number with exactly `decimals` decimals, in the user's locale. */
export function formatFixed(n: number, decimals: number): string {
  let f = fixedFmts.get(decimals);
  if (!f) fixedFmts.set(decimals, (f = new Intl.NumberFormat(undefined, { minimumFractionDigits: decimals, maximumFractionDigits: decimals })));
  return f.format(n);
}

/** Decimals to show for each column of a result: the precision its data has (src/util/decimals.ts). */
export function resultDecimals(columns: readonly string[], rows: readonly unknown[][]): (number | undefined)[] {
  return columns.map((_c, i) => columnDecimals(rows.map((r) => r[i])));
}

/**
 * A result cell as text: NULL visible as such, numbers localised (with the column's `decimals` when given, so that
 * 48.870 and 48.875 stay apart and 29.685718259722474 reads 29.69), the rest as the server sent it.
 */
export function formatCell(v: unknown, decimals?: number): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return decimals === undefined || !Number.isFinite(v) ? numberFmt.format(v) : formatFixed(v, decimals);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/**
 * A time axis tick (`epochSeconds`) for ticks `step` seconds apart, on a 24-hour clock: the date for daily ticks,
 * hours and minutes (with the date at the first tick and at midnight) for hourly or minute ticks, seconds below.
 */
export function formatTick(epochSeconds: number, step: number, first: boolean): string {
  const ms = epochSeconds * 1000;
  if (step >= 86_400) return dayMonthFmt.format(ms);
  if (step >= 60) {
    const d = new Date(ms);
    return first || (d.getHours() === 0 && d.getMinutes() === 0) ? shortDateTimeFmt.format(ms) : hourMinuteFmt.format(ms);
  }
  return timeFmt.format(ms);
}

/** A date without time (daily values), in the user's locale. */
export function formatDate(epochMs: number): string {
  return dateFmt.format(epochMs);
}

/** `<input type="datetime-local">` value of an instant, in local time. */
export function toLocalInput(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

/** Start of today in local time: "today" in the reaction-time panel is the officer's day. */
export function startOfToday(now = Date.now()): number {
  const d = new Date(now);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}
