import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AnalysisService, listStats, runStat, type StatParams } from '../../src/analysis/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { Incident, IncidentEvent } from '../../src/incidents/types.ts';
import { LakeWriter, localLakeFiles, openLakeQuery, type LakeQuery } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { recordsOf } from '../lake/helpers.ts';
import { INCIDENT_STATS, latestIncidents, makeIncidentEvents } from './incident-fixture.ts';

// A lake of known incident events (incident-fixture.ts: 60 incidents over two days, growing, acknowledged, resolved,
// merged), written by the archive's writer in two stream partitions; each statistic's answer is computed here in
// plain TypeScript from the same events and compared row for row.
const START = Date.UTC(2025, 0, 13, 0, 0, 0);
const events = makeIncidentEvents({ seed: 11, start: START, incidents: 60, tenant: 'default' });
// Another force's incidents in the same lake: never in this tenant's answers.
const foreign = makeIncidentEvents({ seed: 12, start: START, incidents: 10, tenant: 'other' });
const latest = latestIncidents(events);

type Row = unknown[];
interface Opts { cell: number; limit: number; tz: string }
const iso = (ms: number): string => new Date(ms).toISOString();
function day(ms: number, tz: string): string {
  const p = Object.fromEntries(new Intl.DateTimeFormat('en-GB', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(ms).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day}`;
}
const corner = (x: number, cell: number): number => Math.round(Math.floor(Math.round((x / cell) * 1e9) / 1e9) * cell * 1e9) / 1e9;
const cmp = (a: string | number, b: string | number): number => (a < b ? -1 : a > b ? 1 : 0);
const SEVERITY_ORDER: Record<string, number> = { critical: 0, warning: 1, info: 2 };
function groupBy<T>(xs: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
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

/** The answers, from the events: `live` are the latest states of the non-merged incidents; `evs` every event. */
const expected: Record<(typeof INCIDENT_STATS)[number], (d: { live: Incident[]; evs: IncidentEvent[]; from: number; to: number }, p: Opts) => Row[]> = {
  'incidents-daily': ({ live, from, to }, p) => {
    const xs = live.filter((i) => i.firstAt >= from && i.firstAt < to);
    return [...groupBy(xs, (i) => `${day(i.firstAt, p.tz)}|${i.severity}`)].map(([k, g]) => {
      const [d, sev] = k.split('|') as [string, string];
      return [d, sev, g.length, g.filter((i) => i.citizenCount >= 2).length, g.filter((i) => i.growing).length,
        g.reduce((s, i) => s + i.citizenCount, 0), Math.max(...g.map((i) => i.citizenCount))];
    }).sort((a, b) => cmp(a[0] as string, b[0] as string) || SEVERITY_ORDER[a[1] as string]! - SEVERITY_ORDER[b[1] as string]!);
  },
  'incident-areas': ({ live, from, to }, p) => {
    const xs = live.filter((i) => i.firstAt >= from && i.firstAt < to);
    return [...groupBy(xs, (i) => `${corner(i.centroid.lat, p.cell)},${corner(i.centroid.lon, p.cell)}`)].map(([k, g]) => {
      const [lat, lon] = k.split(',').map(Number) as [number, number];
      return [lat, lon, g.length, g.filter((i) => i.severity === 'critical').length, g.filter((i) => i.citizenCount >= 2).length,
        g.reduce((s, i) => s + i.citizenCount, 0), Math.max(...g.map((i) => i.citizenCount))];
    }).sort((a, b) => (b[2] as number) - (a[2] as number) || (a[0] as number) - (b[0] as number) || (a[1] as number) - (b[1] as number));
  },
  'incident-ack-time': ({ live, from, to }, p) => {
    const xs = live.filter((i) => i.openedAt >= from && i.openedAt < to);
    return [...groupBy(xs, (i) => day(i.openedAt, p.tz))].sort(([a], [b]) => cmp(a, b)).map(([d, g]) => {
      const ack = g.filter((i) => i.acknowledgedAt !== null).map((i) => (i.acknowledgedAt! - i.openedAt) / 1000);
      return [d, g.length, ack.length, g.filter((i) => i.acknowledgedAt === null && i.resolvedAt !== null).length, quantile(ack, 0.5), quantile(ack, 0.9)];
    });
  },
  'incident-growth': ({ live, evs, from, to }, p) => {
    const rows = live.filter((i) => i.openedAt >= from && i.openedAt < to).map((i) => {
      const mine = evs.filter((e) => e.incident.incidentId === i.incidentId);
      const first = mine[0]!.incident;
      const r = mine.find((e) => e.type === 'acknowledged' || e.type === 'resolved');
      const at = r?.incident ?? i;
      return [i.incidentId, iso(i.openedAt), i.severity, r?.type ?? null, r ? iso(r.at) : null, r ? (r.at - i.openedAt) / 60_000 : null,
        first.citizenCount, at.citizenCount, at.citizenCount - first.citizenCount, first.radiusM, at.radiusM, at.growing, at.growth.spreading];
    });
    rows.sort((a, b) => (b[8] as number) - (a[8] as number) || ((b[10] as number) - (b[9] as number)) - ((a[10] as number) - (a[9] as number))
      || cmp(a[1] as string, b[1] as string) || cmp(a[0] as string, b[0] as string));
    return rows.slice(0, p.limit);
  },
};

function assertRows(got: readonly unknown[][], want: readonly Row[], label: string): void {
  assert.equal(got.length, want.length, `${label}: ${got.length} rows, want ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    const w = want[i]!;
    assert.equal(g.length, w.length, `${label} row ${i}: columns`);
    for (let j = 0; j < w.length; j++) {
      const a = g[j];
      const b = w[j];
      if (typeof b === 'number' && typeof a === 'number') assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${label} [${i}][${j}]: ${a} vs ${b}`);
      else if (typeof b === 'string' && typeof a === 'string' && /^\d{4}-\d\d-\d\dT/.test(b)) assert.equal(Date.parse(a), Date.parse(b), `${label} [${i}][${j}]`);
      else assert.deepEqual(a, b, `${label} [${i}][${j}]: ${JSON.stringify(g)} vs ${JSON.stringify(w)}`);
    }
  }
}

describe('incident statistics on a known lake (real DuckDB, the archive\'s writer)', () => {
  const tmp = tempDir('dw-incident-stats-');
  const root = path.join(tmp.dir, 'lake');
  let q: LakeQuery;
  let svc: AnalysisService;

  before(async () => {
    const w = await LakeWriter.open(root);
    try {
      // Two stream partitions, as the topic's key (the incident) spreads them.
      const all = [...events, ...foreign];
      const half = Math.ceil(all.length / 2);
      await w.write('incidents', 0, recordsOf(all.slice(0, half)));
      await w.write('incidents', 1, recordsOf(all.slice(half)));
    } finally {
      await w.close();
    }
    q = await openLakeQuery(root, { tenant: 'default' });
    svc = new AnalysisService({ source: localLakeFiles(root), config: { ...validateConfig({}).analysis, threads: 1 } });
  });

  after(async () => {
    await q?.close();
    await svc?.close();
    tmp.cleanup();
  });

  it('the fixture has what the statistics are about', () => {
    const live = latest.filter((i) => i.status !== 'merged');
    assert.ok(latest.length - live.length >= 3, 'merged incidents');
    assert.ok(live.filter((i) => i.acknowledgedAt !== null).length >= 15, 'acknowledged');
    assert.ok(live.some((i) => i.acknowledgedAt === null && i.resolvedAt !== null), 'resolved without an acknowledgement');
    assert.ok(live.some((i) => i.severity === 'critical') && live.some((i) => i.severity === 'info'), 'severities');
    assert.ok(events.some((e) => e.type === 'updated' && e.incident.acknowledgedAt !== null), 'growth after an acknowledgement');
  });

  it('incident_events holds every event; incidents is each incident\'s latest state, this tenant\'s only', async () => {
    const n = await q.run('SELECT count(*), count(DISTINCT event_id), count(DISTINCT tenant) FROM incident_events');
    assert.deepEqual(n.rows[0], [events.length, events.length, 1]);
    const r = await q.run('SELECT incident_id, status, citizen_count, radius_m, acknowledged_at, resolved_at, merged_into, opened_at, first_at, min_lat, max_lon, spreading FROM incidents ORDER BY incident_id');
    const want = [...latest].sort((a, b) => cmp(a.incidentId, b.incidentId)).map((i) => [i.incidentId, i.status, i.citizenCount, i.radiusM,
      i.acknowledgedAt === null ? null : iso(i.acknowledgedAt), i.resolvedAt === null ? null : iso(i.resolvedAt), i.mergedInto, iso(i.openedAt), iso(i.firstAt),
      i.bbox[0], i.bbox[3], i.growth.spreading]);
    assertRows(r.rows, want, 'incidents view');
  });

  const cases: { label: string; params: StatParams; from: number; to: number; opts: Opts }[] = [
    { label: 'whole lake, defaults', params: {}, from: -Infinity, to: Infinity, opts: { cell: 0.005, limit: 20, tz: 'UTC' } },
    {
      label: 'a period, other options, Europe/Paris',
      params: { from: '2025-01-13T09:00:00Z', to: '2025-01-14T18:00:00Z' },
      from: Date.UTC(2025, 0, 13, 9), to: Date.UTC(2025, 0, 14, 18), opts: { cell: 0.01, limit: 7, tz: 'Europe/Paris' },
    },
  ];
  for (const c of cases) {
    for (const name of INCIDENT_STATS) {
      it(`${name} (${c.label})`, async () => {
        const stat = listStats().find((s) => s.name === name)!;
        const params: StatParams = { ...c.params };
        if (c.params.from !== undefined) for (const o of stat.options) (params as Record<string, unknown>)[o] = c.opts[o as keyof Opts];
        const want = expected[name]({ live: latest.filter((i) => i.status !== 'merged'), evs: events, from: c.from, to: c.to }, c.opts);
        assert.ok(want.length > 0, `${name}: the fixture gives an answer`);
        assertRows((await runStat(q, name, params)).rows, want, name);
        // Through the service, which prunes the files to the period (incident events from its first hour on).
        const rows: unknown[][] = [];
        for await (const b of await svc.stat('default', name, params)) rows.push(...b);
        assertRows(rows, want, `${name} through AnalysisService`);
      });
    }
  }

  it('incident-growth: an incident that grew after its acknowledgement counts what it had when acknowledged', async () => {
    const grewAfter = events.find((e) => e.type === 'updated' && e.incident.acknowledgedAt !== null
      && e.incident.citizenCount > events.find((x) => x.type === 'acknowledged' && x.incident.incidentId === e.incident.incidentId)!.incident.citizenCount)!;
    const id = grewAfter.incident.incidentId;
    const ack = events.find((x) => x.type === 'acknowledged' && x.incident.incidentId === id)!;
    const r = await runStat(q, 'incident-growth', { limit: 1000 });
    const row = r.rows.find((x) => x[0] === id)!;
    assert.equal(row[3], 'acknowledged');
    assert.equal(row[7], ack.incident.citizenCount, 'citizens at the acknowledgement, not now');
    assert.ok((latest.find((i) => i.incidentId === id)!.citizenCount) > (row[7] as number));
  });
});
