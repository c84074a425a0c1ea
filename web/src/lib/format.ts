const timeFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
const numberFmt = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });

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

/** A result cell as text: NULL visible as such, numbers localised, the rest as the server sent it. */
export function formatCell(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (typeof v === 'number') return numberFmt.format(v);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
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
