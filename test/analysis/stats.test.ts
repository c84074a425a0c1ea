import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { AnalysisService, listStats, listStopWords, runStat, statSql, type StatParams } from '../../src/analysis/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { Alert, AlertEvent, AlertEventType } from '../../src/alerts/types.ts';
import type { AcceptedReport, Citizen } from '../../src/contract/types.ts';
import { LakeWriter, localLakeFiles, openLakeQuery, type LakeQuery } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { mulberry32 } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';
import { INCIDENT_STATS } from './incident-fixture.ts';
import { RULE_VERSION_STATS } from './rule-version-fixture.ts';

// A small lake with known content: 5 drones over two days (a Monday and a Tuesday), irregular report intervals
// (some gaps > 10 min), 0-3 distinct citizens per report with scores that move, 1-4 words (repeats allowed), and
// alerts for half of the reports with a citizen below 20, some updated (moved), acknowledged and resolved later.
const THRESHOLD = 20;
const rand = mulberry32(7);
const NAMES = Array.from({ length: 25 }, (_, i) => `Citizen ${String.fromCharCode(65 + i)}`);
const BASE = NAMES.map(() => Math.round(rand() * 600) / 10 + (rand() < 0.4 ? 0 : 40));
// 'oui' and 'Bonjour' are stop words (src/analysis/stopwords/fr.txt): heard often, left out of top-words.
const VOCAB = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'fox', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima', 'oui', 'oui', 'oui', 'Bonjour', 'Bonjour'];
const START = Date.UTC(2025, 0, 13, 0, 0, 0);

function makeReports(): AcceptedReport[] {
  const out: AcceptedReport[] = [];
  for (let d = 0; d < 5; d++) {
    const droneId = `drone-${d}`;
    let ts = START + d * 7 * 60_000 + Math.floor(rand() * 60_000);
    for (let k = 0; k < 60; k++) {
      const citizens: Citizen[] = [];
      const nc = Math.floor(rand() * 4);
      const seen = new Set<number>();
      while (citizens.length < nc) {
        const i = Math.floor(rand() * NAMES.length);
        if (seen.has(i)) continue;
        seen.add(i);
        citizens.push({ name: NAMES[i]!, score: Math.round(Math.min(100, Math.max(0, BASE[i]! + (rand() - 0.5) * 20)) * 10) / 10 });
      }
      const words = Array.from({ length: 1 + Math.floor(rand() * 4) }, () => VOCAB[Math.floor(rand() * VOCAB.length)]!);
      out.push({
        reportId: `${droneId}:${ts}`, droneId, timestamp: new Date(ts).toISOString(), ts, receivedAt: ts + 100 + Math.floor(rand() * 400),
        tenant: 'default', position: { lat: Math.round((48.85 + rand() * 0.03) * 1e6) / 1e6, lon: Math.round((2.3 + rand() * 0.03) * 1e6) / 1e6 },
        citizens, words,
      });
      ts += (5 + Math.floor(rand() * 55)) * 60_000 + Math.floor(rand() * 60_000);
    }
  }
  return out;
}

const minScore = (r: AcceptedReport): number | null => (r.citizens.length === 0 ? null : Math.min(...r.citizens.map((c) => c.score)));
const isAlertReport = (r: AcceptedReport): boolean => { const m = minScore(r); return m !== null && m < THRESHOLD; };

function makeAlertEvents(reports: readonly AcceptedReport[]): { events: AlertEvent[]; latest: Alert[] } {
  const events: AlertEvent[] = [];
  const latest: Alert[] = [];
  let n = 0;
  for (const rep of reports) {
    if (!isAlertReport(rep) || n++ % 2 === 1) continue;
    const cit = [...rep.citizens].sort((a, b) => a.score - b.score)[0]!;
    // One alert in four comes from a report replayed or backfilled the next day: raised ~21 h after it was seen, in
    // another hour of the day (alert statistics must count it at its report time).
    const raisedAt = n % 8 === 5 ? rep.receivedAt + 21 * 3_600_000 + Math.floor(rand() * 3_600_000) : rep.receivedAt + 5;
    // The first alert sits on a cell line of the 0.005 grid, where 2.385 / 0.005 is 476.99999999999994 in floating point.
    const position = n === 1 ? { lat: 48.87, lon: 2.385 } : { ...rep.position };
    const a: Alert = {
      alertId: `${rep.reportId}/${cit.name}`, tenant: rep.tenant, droneId: rep.droneId, citizen: cit.name, score: cit.score,
      severity: cit.score < 5 ? 'critical' : 'warning', rule: 'score-below-threshold', position, words: [...rep.words],
      firstReportId: rep.reportId, lastReportId: rep.reportId, firstSeenTs: rep.ts, lastSeenTs: rep.ts, raisedAt, updatedAt: raisedAt,
      occurrences: 1, status: 'open', assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null,
    };
    const steps: { type: AlertEventType; at: number }[] = [{ type: 'raised', at: raisedAt }];
    if (rand() < 0.3) steps.push({ type: 'updated', at: raisedAt + 60_000 });
    if (rand() < 0.75) {
      const ack = raisedAt + 10_000 + Math.floor(rand() * 590_000);
      steps.push({ type: 'acknowledged', at: ack });
      if (rand() < 0.6) steps.push({ type: 'resolved', at: ack + 30_000 + Math.floor(rand() * 3_000_000) });
    }
    steps.sort((x, y) => x.at - y.at);
    for (const s of steps) {
      if (s.type === 'updated') {
        a.position = { lat: Math.round((a.position.lat + 0.011) * 1e6) / 1e6, lon: a.position.lon };
        a.occurrences += 1;
      } else if (s.type === 'acknowledged') {
        a.status = 'acknowledged'; a.acknowledgedBy = 'officer-1'; a.acknowledgedAt = s.at;
      } else if (s.type === 'resolved') {
        a.status = 'resolved'; a.resolvedBy = 'officer-2'; a.resolvedAt = s.at;
      }
      a.updatedAt = s.at;
      events.push({ eventId: `${a.alertId}#${s.type}`, type: s.type, at: s.at, by: s.type === 'raised' || s.type === 'updated' ? null : 'officer', alert: { ...a, position: { ...a.position }, words: [...a.words] } });
    }
    latest.push({ ...a });
  }
  return { events, latest };
}

// ---- the answers, computed in plain TypeScript ----
type Row = unknown[];
/** `alerts`: the alerts seen (first_seen_ts) in the period; `raised`: those raised in it (reaction-time). */
interface Data { reports: AcceptedReport[]; alerts: Alert[]; raised: Alert[] }
interface Opts { cell: number; minutes: number; limit: number; tz: string }
const iso = (ms: number): string => new Date(ms).toISOString();
/** Wall-clock fields of an instant in a time zone, as Intl (ICU) gives them. */
function local(ms: number, tz: string): { day: string; hour: number; weekday: number } {
  const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', hourCycle: 'h23', weekday: 'short' })
    .formatToParts(ms).map((p) => [p.type, p.value]));
  return { day: `${parts.year}-${parts.month}-${parts.day}`, hour: Number(parts.hour), weekday: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(parts.weekday!) };
}
const day = (ms: number, tz = 'UTC'): string => local(ms, tz).day;
const hourOf = (ms: number, tz = 'UTC'): number => local(ms, tz).hour;
/** The stop words top-words leaves out (the lists in src/analysis/stopwords/). */
const STOP = new Set(listStopWords().flatMap((l) => l.words));
/** A cell corner as hotspots names it: on the grid, rounded to 9 decimals (no 48.870000000000005). */
const corner = (x: number, cell: number): number => Math.round(Math.floor(Math.round((x / cell) * 1e9) / 1e9) * cell * 1e9) / 1e9;
const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
function countBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const t of items) { const k = key(t); m.set(k, [...(m.get(k) ?? []), t]); }
  return m;
}
function quantile(xs: number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}
const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const expected: Record<string, (d: Data, p: Opts) => Row[]> = {
  'alerts-by-hour': ({ alerts }, p) => [...countBy(alerts, (a) => String(hourOf(a.firstSeenTs, p.tz)))].map(([h, xs]) => [Number(h), xs.length]).sort((a, b) => a[0]! - b[0]!),
  'alerts-by-weekday': ({ alerts }, p) => [...countBy(alerts, (a) => String(local(a.firstSeenTs, p.tz).weekday))]
    .map(([d, xs]) => [Number(d) === 0 ? 7 : Number(d), WEEKDAYS[Number(d)], xs.length] as Row).sort((a, b) => (a[0] as number) - (b[0] as number)),
  'alert-rate-daily': ({ reports }, p) => [...countBy(reports, (r) => day(r.ts, p.tz))].sort(([a], [b]) => cmp(a, b)).map(([d, rs]) => {
    const al = rs.filter(isAlertReport).length;
    return [d, rs.length, al, al / rs.length];
  }),
  'top-drones': ({ reports, alerts }, p) => {
    const ids = [...new Set([...reports.map((r) => r.droneId), ...alerts.map((a) => a.droneId)])];
    return ids.map((id) => [id, reports.filter((r) => r.droneId === id).length, alerts.filter((a) => a.droneId === id).length] as [string, number, number])
      .sort((a, b) => b[1] - a[1] || b[2] - a[2] || cmp(a[0], b[0])).slice(0, p.limit);
  },
  'active-drones-hourly': ({ reports }) => [...countBy(reports, (r) => iso(Math.floor(r.ts / 3_600_000) * 3_600_000))].sort(([a], [b]) => cmp(a, b))
    .map(([h, rs]) => [h, new Set(rs.map((r) => r.droneId)).size, rs.length]),
  'silent-drones': ({ reports }, p) => {
    const rows: [string, string, string, number][] = [];
    for (const [id, rs] of countBy(reports, (r) => r.droneId)) {
      const ts = rs.map((r) => r.ts).sort((a, b) => a - b);
      for (let i = 1; i < ts.length; i++) if (ts[i]! - ts[i - 1]! > p.minutes * 60_000) rows.push([id, iso(ts[i - 1]!), iso(ts[i]!), (ts[i]! - ts[i - 1]!) / 60_000]);
    }
    return rows.sort((a, b) => b[3] - a[3] || cmp(a[0], b[0]) || cmp(a[1], b[1]));
  },
  hotspots: ({ alerts }, p) => [...countBy(alerts, (a) => JSON.stringify([corner(a.position.lat, p.cell), corner(a.position.lon, p.cell)]))]
    .map(([k, xs]) => [...(JSON.parse(k) as number[]), xs.length] as [number, number, number])
    .sort((a, b) => b[2] - a[2] || a[0] - b[0] || a[1] - b[1]),
  'top-words': ({ reports }, p) => {
    const all = reports.flatMap((r) => r.words.filter((w) => !STOP.has(w.toLowerCase())).map((w) => ({ w, alert: isAlertReport(r) })));
    return [...countBy(all, (x) => x.w)].map(([w, xs]) => [w, xs.length, xs.filter((x) => x.alert).length] as [string, number, number])
      .sort((a, b) => b[1] - a[1] || cmp(a[0], b[0])).slice(0, p.limit);
  },
  'alert-words-lift': ({ reports }, p) => {
    const n = reports.length;
    const nAlert = reports.filter(isAlertReport).length;
    const rows: [string, number, number, number][] = [];
    for (const w of new Set(reports.flatMap((r) => r.words))) {
      const rs = reports.filter((r) => r.words.includes(w));
      const a = rs.filter(isAlertReport).length;
      if (a > 0) rows.push([w, rs.length, a, (a / nAlert) / (rs.length / n)]);
    }
    return rows.sort((x, y) => y[3] - x[3] || y[2] - x[2] || cmp(x[0], y[0])).slice(0, p.limit);
  },
  'score-by-word': ({ reports }, p) => {
    const pairs = reports.flatMap((r) => r.words.flatMap((w) => r.citizens.map((c) => ({ w, s: c.score }))));
    return [...countBy(pairs, (x) => x.w)].map(([w, xs]) => [w, xs.length, xs.reduce((s, x) => s + x.s, 0) / xs.length] as [string, number, number])
      .sort((a, b) => a[2] - b[2] || cmp(a[0], b[0])).slice(0, p.limit);
  },
  'citizens-most-alerts': ({ alerts }, p) => [...countBy(alerts, (a) => a.citizen)].map(([c, xs]) => [c, xs.length, Math.min(...xs.map((a) => a.score))] as [string, number, number])
    .sort((a, b) => b[1] - a[1] || cmp(a[0], b[0])).slice(0, p.limit),
  'citizens-score-drop': ({ reports }, p) => {
    const s = reports.flatMap((r) => r.citizens.map((c) => ({ c: c.name, score: c.score, ts: r.ts, id: r.reportId })));
    const rows: [string, number, number, number][] = [];
    for (const [c, xs] of countBy(s, (x) => x.c)) {
      xs.sort((a, b) => a.ts - b.ts || cmp(a.id, b.id));
      const first = xs[0]!.score;
      const last = xs[xs.length - 1]!.score;
      if (first > last) rows.push([c, first, last, first - last]);
    }
    return rows.sort((a, b) => b[3] - a[3] || cmp(a[0], b[0])).slice(0, p.limit);
  },
  'reaction-time': ({ raised }, p) => {
    const rows: Row[] = [];
    for (const [grouping, key] of [['day', (a: Alert) => day(a.raisedAt, p.tz)], ['hour', (a: Alert) => String(hourOf(a.raisedAt, p.tz)).padStart(2, '0')]] as const) {
      for (const [bucket, xs] of [...countBy(raised, key)].sort(([a], [b]) => cmp(a, b))) {
        const ack = xs.filter((a) => a.acknowledgedAt !== null).map((a) => (a.acknowledgedAt! - a.raisedAt) / 1000);
        const res = xs.filter((a) => a.resolvedAt !== null).map((a) => (a.resolvedAt! - a.raisedAt) / 1000);
        rows.push([grouping, bucket, xs.length, ack.length, res.length, quantile(ack, 0.5), quantile(ack, 0.9), quantile(res, 0.5), quantile(res, 0.9)]);
      }
    }
    return rows;
  },
  'reports-daily': ({ reports }, p) => [...countBy(reports, (r) => day(r.ts, p.tz))].sort(([a], [b]) => cmp(a, b)).map(([d, rs]) => {
    const drones = new Set(rs.map((r) => r.droneId)).size;
    return [d, rs.length, drones, rs.length / drones];
  }),
  'day-periods': ({ reports, alerts }, p) => ['night', 'morning', 'afternoon', 'evening'].map((period, i) => {
    const rs = reports.filter((r) => Math.floor(hourOf(r.ts, p.tz) / 6) === i);
    return [period, rs.length, rs.filter(isAlertReport).length, alerts.filter((a) => Math.floor(hourOf(a.firstSeenTs, p.tz) / 6) === i).length];
  }),
};

/** Exact equality, except averages and percentiles (summation order differs between engines): 1e-9 relative. */
function assertRows(actual: Row[], want: Row[], name: string): void {
  assert.equal(actual.length, want.length, `${name}: row count`);
  actual.forEach((row, i) => {
    const w = want[i]!;
    assert.equal(row.length, w.length, `${name} row ${i}: columns`);
    row.forEach((v, j) => {
      const x = w[j];
      if (typeof v === 'number' && typeof x === 'number' && !Number.isInteger(x)) {
        assert.ok(Math.abs(v - x) <= 1e-9 * Math.max(1, Math.abs(x)), `${name} row ${i} col ${j}: ${v} != ${x}`);
      } else {
        assert.deepEqual(v, x, `${name} row ${i} col ${j}: ${JSON.stringify(row)} vs ${JSON.stringify(w)}`);
      }
    });
  });
}

describe('ready-made statistics', () => {
  const tmp = tempDir('dw-stats-');
  const root = path.join(tmp.dir, 'lake');
  const reports = makeReports();
  const { events, latest } = makeAlertEvents(reports);
  let q: LakeQuery;
  let svc: AnalysisService;

  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports.slice(0, 150)));
    await w.write('reports', 1, recordsOf(reports.slice(150)));
    await w.write('alerts', 0, recordsOf(events));
    await w.close();
    q = await openLakeQuery(root, { tenant: 'default' });
    svc = new AnalysisService({ source: localLakeFiles(root), config: validateConfig({}).analysis });
  });
  after(async () => {
    await q.close();
    await svc.close();
    tmp.cleanup();
  });

  it('the fixture exercises every statistic', () => {
    assert.equal(reports.length, 300);
    assert.ok(latest.length >= 15, `alerts: ${latest.length}`);
    assert.ok(latest.some((a) => a.occurrences > 1) && latest.some((a) => a.resolvedAt !== null) && latest.some((a) => a.acknowledgedAt === null), 'alert lifecycles');
    assert.ok(reports.some((r) => r.citizens.length === 0), 'a report without citizens');
    assert.equal(new Set(reports.map((r) => day(r.ts))).size, 2, 'days');
    assert.ok(latest.some((a) => hourOf(a.raisedAt) !== hourOf(a.firstSeenTs)), 'alerts raised in another hour than seen (replayed)');
    assert.ok(reports.some((r) => r.words.includes('oui')) && reports.some((r) => r.words.includes('Bonjour')), 'stop words heard');
  });

  it('counts alerts at the report time of their sighting, not when they were raised', async () => {
    const replayed = latest.find((a) => hourOf(a.raisedAt) !== hourOf(a.firstSeenTs))!;
    const seenHour = new Date(replayed.firstSeenTs).toISOString().slice(0, 13);
    const r = await runStat(q, 'alerts-by-hour', { from: `${seenHour}:00:00Z`, to: new Date(Date.parse(`${seenHour}:00:00Z`) + 3_600_000).toISOString() });
    const rows = r.rows as [number, number][];
    assert.equal(rows.length, 1, 'the hour it was seen, only');
    assert.equal(rows[0]![0], hourOf(replayed.firstSeenTs));
    assert.equal(rows[0]![1], latest.filter((a) => new Date(a.firstSeenTs).toISOString().slice(0, 13) === seenHour).length);
  });

  it('names hotspot cells by clean corners: no floating-point noise, a point on a cell line in the cell it starts', async () => {
    for (const cell of [0.005, 0.01, 0.002]) {
      const r = await runStat(q, 'hotspots', { cell });
      const decimals = String(cell).split('.')[1]!.length;
      for (const row of r.rows) {
        for (const v of row.slice(0, 2)) assert.match(String(v), new RegExp(`^\\d+(\\.\\d{1,${decimals}})?$`), `cell ${cell}: corner ${String(v)}`);
      }
    }
    const cells = (await runStat(q, 'hotspots', { cell: 0.005 })).rows.map((row) => `${String(row[0])},${String(row[1])}`);
    assert.ok(cells.some((c) => c.endsWith(',2.385')), `2.385 is the corner of its own cell: ${cells.filter((c) => c.includes('2.38')).join(' ')}`);
  });

  it('exports hotspots as clean CSV: the exact corners, byte for byte', async () => {
    const file = path.join(tmp.dir, 'hotspots.csv');
    await svc.exportToFile('default', svc.statSql('hotspots', { cell: 0.005 }), file, 'csv');
    const want = expected.hotspots!({ reports, alerts: latest, raised: latest }, { cell: 0.005, minutes: 10, limit: 20, tz: 'UTC' });
    const text = ['cell_lat,cell_lon,alerts', ...want.map((r) => r.join(','))].map((l) => `${l}\r\n`).join('');
    assert.equal(readFileSync(file, 'utf8'), text);
    assert.match(text, /^48\.87,2\.385,\d+\r$/m, 'the alert on the cell line, in the cell it starts');
    assert.doesNotMatch(text, /\d\.\d{4,}/, 'no floating-point noise');
  });

  it('leaves stop words out of top-words, whatever their case; other word statistics keep them', async () => {
    assert.ok(STOP.has('oui') && STOP.has('bonjour') && STOP.has('non'), 'the French list has the words every drone hears');
    const top = (await runStat(q, 'top-words', { limit: 100 })).rows.map((row) => row[0]);
    assert.ok(!top.includes('oui') && !top.includes('Bonjour'), `no stop words: ${top.join(', ')}`);
    assert.ok(top.includes('alpha'));
    const lift = (await runStat(q, 'alert-words-lift', { limit: 100 })).rows.map((row) => row[0]);
    assert.ok(lift.includes('oui'), 'alert-words-lift still has every word (a stop word has a lift near 1)');
  });

  it('lists the statistics with a description (the incident ones are tested in incident-stats.test.ts, the rule version ones in rule-version-stats.test.ts)', () => {
    assert.deepEqual(listStats().map((s) => s.name), [...Object.keys(expected), ...INCIDENT_STATS, ...RULE_VERSION_STATS].sort());
    for (const s of listStats()) assert.ok(s.description.length > 10, s.name);
    assert.deepEqual(listStats().find((s) => s.name === 'hotspots')!.options, ['cell']);
  });

  const hourIndex = (ms: number): number => Math.floor(ms / 3_600_000);
  const crossing = latest.filter((a) => a.resolvedAt !== null && hourIndex(a.resolvedAt) > hourIndex(a.raisedAt) && a.raisedAt > Date.UTC(2025, 0, 13, 12) && a.raisedAt - a.firstSeenTs < 60_000)[0]!;
  const cases: { label: string; params: StatParams; from: number; to: number; opts: Opts }[] = [
    { label: 'whole lake, defaults', params: {}, from: -Infinity, to: Infinity, opts: { cell: 0.005, minutes: 10, limit: 20, tz: 'UTC' } },
    {
      label: 'a period, other options',
      params: { from: '2025-01-13T18:30:00Z', to: '2025-01-15T06:00:00.000Z' },
      from: Date.UTC(2025, 0, 13, 18, 30), to: Date.UTC(2025, 0, 15, 6), opts: { cell: 0.01, minutes: 30, limit: 3, tz: 'UTC' },
    },
    {
      // Paris is UTC+1 in January: hours move by one, and reports between 23:00 and 00:00 UTC change day.
      label: 'a period, hours and days in Europe/Paris',
      params: { from: '2025-01-13T06:00:00Z', to: '2025-01-16T00:00:00Z' },
      from: Date.UTC(2025, 0, 13, 6), to: Date.UTC(2025, 0, 16), opts: { cell: 0.002, minutes: 15, limit: 5, tz: 'Europe/Paris' },
    },
    {
      // Ends just after an alert was raised whose resolution falls in a later hour: its latest state (resolved) is only
      // in an event after the period, which the service must still read (alert events are pruned by `from` only).
      label: 'a period ending before an alert\'s resolution',
      params: { from: '2025-01-13T05:10:00Z', to: new Date(crossing.raisedAt + 1).toISOString() },
      from: Date.UTC(2025, 0, 13, 5, 10), to: crossing.raisedAt + 1, opts: { cell: 0.01, minutes: 30, limit: 3, tz: 'UTC' },
    },
  ];
  for (const c of cases) {
    for (const name of Object.keys(expected)) {
      it(`${name} (${c.label})`, async () => {
        const stat = listStats().find((s) => s.name === name)!;
        const params: StatParams = { ...c.params };
        if (c.params.from !== undefined) for (const o of stat.options) (params as Record<string, unknown>)[o] = c.opts[o];
        const data: Data = {
          reports: reports.filter((r) => r.ts >= c.from && r.ts < c.to),
          alerts: latest.filter((a) => a.firstSeenTs >= c.from && a.firstSeenTs < c.to),
          raised: latest.filter((a) => a.raisedAt >= c.from && a.raisedAt < c.to),
        };
        const want = expected[name]!(data, c.opts);
        assert.ok(want.length > 0, `${name}: the fixture gives an answer`);
        assertRows((await runStat(q, name, params)).rows, want, name);
        if (c.params.from !== undefined) {
          // The service prunes the files to the period (reports to its hours, alert events from its first hour on):
          // the same answer from fewer files.
          const rows: unknown[][] = [];
          for await (const b of await svc.stat('default', name, params)) rows.push(...b);
          assertRows(rows, want, `${name} through AnalysisService (pruned)`);
        }
      });
    }
  }

  it('validates parameters strictly and never puts user text in the SQL', async () => {
    const bad: [string, StatParams][] = [
      ['reports-daily', { from: 'yesterday' }],
      ['reports-daily', { from: "2025-01-01'; DROP TABLE x; --" }],
      ['reports-daily', { to: '2025-02-30T25:00:00Z' }],
      ['reports-daily', { from: '2025-01-02', to: '2025-01-01' }],
      ['hotspots', { cell: 0 }],
      ['hotspots', { cell: 'NaN' }],
      ['hotspots', { cell: '1e400' }],
      ['silent-drones', { minutes: -5 }],
      ['top-drones', { limit: '2.5' }],
      ['top-drones', { limit: '1; SELECT 1' }],
      ['top-words', { limit: 0 }],
      ['reports-daily', { limit: 5 }],
      ['alerts-by-hour', { tz: 'Mars/Olympus' }],
      ['alerts-by-hour', { tz: "UTC'; SELECT 1; --" }],
      ['top-drones', { tz: 'Europe/Paris' }],
    ];
    for (const [name, params] of bad) {
      assert.throws(() => statSql(name, params), (e: Error & { code?: string }) => e.code === 'DW_CONFIG_INVALID' && !e.message.includes('\n'), `${name} ${JSON.stringify(params)}`);
    }
    await assert.rejects(runStat(q, 'no-such-stat'), (e: Error & { code?: string }) => e.code === 'DW_QUERY_FAILED' && /unknown statistic/.test(e.message));
    assert.match(statSql('reports-daily', { from: '2025-01-13T01:00:00+02:00' }), /CAST\('2025-01-12 23:00:00\.000' AS TIMESTAMP\)/);
  });

  it('answers with empty results on an empty lake', async () => {
    const empty = await openLakeQuery(path.join(tmp.dir, 'empty'), { tenant: 'default' });
    try {
      for (const s of listStats()) {
        const r = await runStat(empty, s.name);
        assert.deepEqual(r.rows, s.name === 'day-periods' ? ['night', 'morning', 'afternoon', 'evening'].map((p) => [p, 0, 0, 0]) : [], s.name);
      }
    } finally {
      await empty.close();
    }
  });
});
