/**
 * The dry run (issue 19, item 2): replays a proposed rule set over the lake's reports of a period and answers what it
 * would have raised, next to what the rules in force raise over the same reports: alerts and incidents per day and
 * per zone.
 *
 * The reports are read through the analysis service (src/analysis/), so the run is under the sandbox's limits: the
 * tenant's files only, DuckDB's memory limit, the query time limit (analysis.timeoutSeconds) and the admission
 * slots (analysis.maxQueries, maxQueriesPerTenant: 429 when full). The SQL keeps only reports some rule of either set
 * could fire on (a score below the highest threshold, or a listed person of concern), so what crosses into
 * JavaScript is the alerting few, not the whole period. Each is evaluated with the workers' own code
 * (evaluateRuleSet), sightings are folded into alerts with the alert state's own functions (src/alerts/sighting.ts),
 * and each raised or updated alert goes through the incident grouping (src/incidents/grouping.ts planAlert) over an
 * in-memory copy of the incidents (the distributed state's IncidentView), one per rule set. Nothing is written
 * anywhere and nothing is announced: the run never touches the alert or incident state, the bus or the stream.
 */
import type { AnalysisApi } from '../server/types.ts';
import type { AcceptedReport } from '../contract/types.ts';
import { alertFromSighting, inDedupWindow, mergeSighting } from '../alerts/sighting.ts';
import type { Alert } from '../alerts/types.ts';
import { IncidentView } from '../backend/shared/incidents/view.ts';
import type { GroupingConfig } from '../incidents/config.ts';
import { planAlert, type IncidentLookup } from '../incidents/grouping.ts';
import { compileRuleSet, evaluateRuleSet, zonesAt, type CompiledRuleSet } from './compile.ts';
import type { DryRunCounts, DryRunIncidentCounts, DryRunResult, RuleSet } from './types.ts';
import { RulesInvalidError } from './validate.ts';

/** The longest period one run replays: a month (the question is "last week"; longer is a statistics job). */
export const MAX_DRY_RUN_DAYS = 31;

export type { DryRunCounts, DryRunIncidentCounts, DryRunResult } from './types.ts';

export interface DryRunOptions {
  tenant: string;
  from: Date;
  to: Date;
  proposed: RuleSet;
  inForce: { set: RuleSet; version: number };
  dedupWindowMs: number;
  /** The incidents section of the configuration, as the alert workers group with it. */
  grouping: GroupingConfig;
  signal?: AbortSignal | undefined;
  /** Called every `progressEvery` replayed reports (streamed progress for long periods). */
  onProgress?: ((replayed: number) => void) | undefined;
  progressEvery?: number;
}

export function checkPeriod(from: Date, to: Date): void {
  const errors = [];
  if (Number.isNaN(from.getTime())) errors.push({ field: 'from', reason: 'must be an ISO 8601 time' });
  if (Number.isNaN(to.getTime())) errors.push({ field: 'to', reason: 'must be an ISO 8601 time' });
  else if (to <= from) errors.push({ field: 'to', reason: 'must be after from' });
  else if (to.getTime() - from.getTime() > MAX_DRY_RUN_DAYS * 86_400_000) errors.push({ field: 'to', reason: `the period is at most ${MAX_DRY_RUN_DAYS} days` });
  if (errors.length > 0) throw new RulesInvalidError(errors);
}

const sqlString = (s: string): string => `'${s.replaceAll("'", "''")}'`;

/** What may alert under either set, as a WHERE clause over the `reports` view. */
function candidateFilter(raw: readonly RuleSet[]): string {
  let max = 0;
  const names = new Set<string>();
  for (const s of raw) {
    for (const r of s.rules) {
      if (!r.enabled) continue;
      if (r.kind === 'zone-entry') r.citizens.forEach((c) => names.add(c));
      else max = Math.max(max, r.threshold);
    }
  }
  const parts = [`min_score < ${Number(max)}`];
  if (names.size > 0) parts.push(`list_has_any(list_transform(citizens, c -> c.name), [${[...names].map(sqlString).join(', ')}]::VARCHAR[])`);
  return `(${parts.join(' OR ')})`;
}

/**
 * One set's replay: its counts, the alerts it raised (by drone and citizen) and its incidents: all of them, and
 * `reachable`, those a new sighting may still join (see evictUnreachable).
 */
interface Folding { counts: DryRunCounts; alerts: Map<string, Alert>; incidents: IncidentView; reachable: IncidentView; lookup: IncidentLookup; evictedAt: number }

const emptyIncidentCounts = (): DryRunIncidentCounts => ({ incidents: 0, merged: 0, gatherings: 0, perDay: {}, perZone: {} });
const emptyCounts = (): DryRunCounts => ({ alerts: 0, sightings: 0, perDay: {}, perZone: {}, perSeverity: {}, perRule: {}, incidents: emptyIncidentCounts() });
const bump = (m: Record<string, number>, k: string): void => { m[k] = (m[k] ?? 0) + 1; };
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export async function dryRun(analysis: Pick<AnalysisApi, 'exportCursor' | 'limits' | 'query'>, o: DryRunOptions): Promise<DryRunResult> {
  checkPeriod(o.from, o.to);
  const started = Date.now();
  const proposed = compileRuleSet(o.proposed, 0);
  const inForce = compileRuleSet(o.inForce.set, o.inForce.version);
  const range = { from: o.from, to: o.to };
  const period = `ts >= epoch_ms(${o.from.getTime()}) AND ts < epoch_ms(${o.to.getTime()})`;
  const timeoutMs = analysis.limits.timeoutMs;

  let reports = 0;
  const total = await analysis.query(o.tenant, `SELECT count(*) AS n FROM reports WHERE ${period}`, { range, timeoutMs, signal: o.signal });
  for await (const rows of total) reports = Number(rows[0]?.[0] ?? 0);

  const sql = `SELECT report_id, drone_id, CAST(epoch_ms(ts) AS DOUBLE) AS ts, lat, lon, citizens, words FROM reports
    WHERE ${period} AND ${candidateFilter([o.proposed, o.inForce.set])} ORDER BY ts, drone_id`;
  const cursor = await analysis.exportCursor(o.tenant, sql, { range, timeoutMs, signal: o.signal });
  const folding = (): Folding => {
    const incidents = new IncidentView(o.grouping.radiusM);
    const reachable = new IncidentView(o.grouping.radiusM);
    const lookup: IncidentLookup = { holding: (t, id) => incidents.holding(t, id), near: (t, lat, lon) => reachable.near(t, lat, lon) };
    return { counts: emptyCounts(), alerts: new Map(), incidents, reachable, lookup, evictedAt: -Infinity };
  };
  const folds: [CompiledRuleSet, Folding][] = [[proposed, folding()], [inForce, folding()]];
  let replayed = 0;
  const every = o.progressEvery ?? 10_000;
  for await (const rows of cursor) {
    for (const row of rows) {
      const [reportId, droneId, ts, lat, lon, citizens, words] = row as [string, string, number, number, number, { name: string; score: number }[], string[]];
      const report = { reportId, droneId, ts, position: { lat, lon }, citizens, words, tenant: o.tenant } as unknown as AcceptedReport;
      for (const [rs, f] of folds) fold(rs, f, report, proposed, o);
      if (++replayed % every === 0) o.onProgress?.(replayed);
    }
  }
  for (const [, f] of folds) countIncidents(f, proposed);
  return {
    tenant: o.tenant, from: o.from.toISOString(), to: o.to.toISOString(), reports, replayed,
    proposed: folds[0]![1].counts,
    inForce: { ...folds[1]![1].counts, version: o.inForce.version },
    elapsedMs: Date.now() - started,
  };
}

/**
 * One report into one set's counts. A sighting within the dedup window of the same drone and citizen's alert updates
 * it (inDedupWindow, mergeSighting: reports come in time order, and no officer resolves anything in a replay);
 * otherwise it raises one. Either way the alert's new state is grouped into the set's incidents, as the worker
 * groups `raised` and `updated` events. Zones are the proposed set's, for both columns: the comparison is per place.
 * The report's time stands for the platform's clock (openedAt/updatedAt of incidents): the replay is deterministic.
 */
function fold(rs: CompiledRuleSet, f: Folding, report: AcceptedReport, zonesOf: CompiledRuleSet, o: Pick<DryRunOptions, 'dedupWindowMs' | 'grouping'>): void {
  const candidates = evaluateRuleSet(report, rs);
  for (const c of candidates) {
    const key = `${report.droneId}\u0000${c.citizen}`;
    const last = f.alerts.get(key);
    f.counts.sightings++;
    let alert: Alert;
    if (last !== undefined && inDedupWindow(last, report.ts, o.dedupWindowMs)) {
      alert = mergeSighting(last, report, c, report.ts);
    } else {
      alert = alertFromSighting(report, c, report.ts);
      f.counts.alerts++;
      bump(f.counts.perDay, utcDay(report.ts));
      const zones = zonesAt(zonesOf, report.position.lat, report.position.lon);
      if (zones.length === 0) bump(f.counts.perZone, '(none)');
      else for (const z of zones) bump(f.counts.perZone, z);
      bump(f.counts.perSeverity, c.severity);
      bump(f.counts.perRule, c.rule);
    }
    f.alerts.set(key, alert);
    for (const w of planAlert(f.lookup, alert, o.grouping, report.ts).writes) {
      f.incidents.apply(w.incident.incidentId, w, w.version);
      f.reachable.apply(w.incident.incidentId, w, w.version);
    }
  }
  if (report.ts - f.evictedAt >= o.grouping.windowMs) evictUnreachable(f, report.ts, o.grouping.windowMs);
}

/**
 * Forgets, for `near`, the incidents no later sighting can join: one whose last activity is more than the window
 * before `now` is out of reach of every sighting from now on (grouping.ts withinReach), since reports are replayed in
 * time order. Without this every incident of the period stays a candidate of every lookup around it, and a week of a
 * busy city took minutes instead of seconds (docs/alerts.md, "Dry run"). The alerts they hold still find them
 * (`holding`); a sighting of one of those brings its incident back (its write is applied to `reachable` again).
 */
function evictUnreachable(f: Folding, now: number, windowMs: number): void {
  f.evictedAt = now;
  const stale: [string, number][] = [];
  for (const { rec, rev } of f.reachable.records()) if (rec.incident.lastAt + windowMs < now) stale.push([rec.incident.incidentId, rev]);
  for (const [id, rev] of stale) f.reachable.apply(id, null, rev + 1);
}

/** A set's incidents once every report is replayed: per day of their first sighting, per zone of their centroid. */
function countIncidents(f: Folding, zonesOf: CompiledRuleSet): void {
  const n = f.counts.incidents;
  for (const { rec } of f.incidents.records()) {
    const i = rec.incident;
    if (i.status === 'merged') {
      n.merged++;
      continue;
    }
    n.incidents++;
    if (i.citizenCount >= 2) n.gatherings++;
    bump(n.perDay, utcDay(i.firstAt));
    const zones = zonesAt(zonesOf, i.centroid.lat, i.centroid.lon);
    if (zones.length === 0) bump(n.perZone, '(none)');
    else for (const z of zones) bump(n.perZone, z);
  }
}
