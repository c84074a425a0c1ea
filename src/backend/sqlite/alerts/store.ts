import { WalCheckpointer } from '../../../util/wal-checkpointer.ts';
import Database from 'better-sqlite3';
import path from 'node:path';
import type { AcceptedReport } from '../../../contract/types.ts';
import { AlertNotFoundError, AlertTransitionError } from '../../../alerts/errors.ts';
import { eventIdOf } from '../../../alerts/ids.ts';
import type { AlertCandidate } from '../../../alerts/rules.ts';
import {
  acknowledgeChange, alertFromSighting, assignChange, mergeSighting, resolveChange, type LifecycleAction, type LifecycleChange,
} from '../../../alerts/sighting.ts';
import type { AlertListQuery, AlertState, AppliedSightings, ReportCandidates } from '../../../alerts/state.ts';
import {
  ALERT_COLUMNS, INSERT_ALERT_SQL, SCHEMA_SQL, migrateAlertColumns, UPDATE_ALERT_SQL, alertFromRow, rowFromAlert, type AlertRow,
} from './schema.ts';
import type { Alert, AlertEvent, AlertEventType, AlertStatus } from '../../../alerts/types.ts';
import { summariseDurations, type ReactionTimes } from '../../../alerts/reaction.ts';
import { openWalDatabase } from '../open-db.ts';

export interface AlertStoreOptions {
  /** Database file; default `<dataDir>/alerts.db`. One of `file` or `dataDir` is required. */
  file?: string;
  dataDir?: string;
  /** The same citizen seen by the same drone within this long of an unresolved alert's sightings updates it. Default 10 min. */
  dedupWindowMs?: number;
  /** How long (by apply time) a sighting is remembered for idempotent redelivery. Default 24 h. */
  appliedRetentionMs?: number;
  /** `normal` survives a process crash; `full` also a power loss. Default `normal`. */
  sync?: 'normal' | 'full';
  /** Clock for `raisedAt`/`updatedAt`/event times (tests). */
  now?: () => number;
}

export function openAlertStore(opts: AlertStoreOptions): AlertStore {
  return new AlertStore(opts);
}

/**
 * The alert store: SQLite in WAL mode, so the alert worker, the HTTP server and the CLI can use the same file from
 * several processes (writes take the write lock up front: `BEGIN IMMEDIATE`, waiting up to 5 s).
 */
export class AlertStore implements AlertState {
  private checkpointer: WalCheckpointer | undefined;
  readonly file: string;
  readonly dedupWindowMs: number;
  /** Every event goes to the outbox in the transaction that makes it. */
  readonly outboxHoldsSightings = true;
  readonly appliedRetentionMs: number;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly st: Statements;
  private readonly listCache = new Map<string, Database.Statement>();

  constructor(opts: AlertStoreOptions) {
    if (!opts.file && !opts.dataDir) throw new TypeError('AlertStore needs `file` or `dataDir`');
    this.file = path.resolve(opts.file ?? path.join(opts.dataDir!, 'alerts.db'));
    this.dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000;
    this.appliedRetentionMs = opts.appliedRetentionMs ?? 24 * 3600_000;
    this.now = opts.now ?? Date.now;
    this.db = openWalDatabase(this.file);
    this.db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(SCHEMA_SQL);
    migrateAlertColumns(this.db);
    this.st = prepareStatements(this.db);
  }

  /**
   * Applies the rules' verdicts for a batch of reports in one transaction and returns the events (`raised`, `updated`)
   * in order. Sightings already applied (redelivered reports) are skipped: applying a batch twice changes nothing.
   */
  applyReports(batch: readonly ReportCandidates[]): AlertEvent[] {
    return this.db.transaction(() => {
      const events: AlertEvent[] = [];
      const at = this.now();
      for (const { report, candidates } of batch) {
        for (const c of candidates) {
          const e = this.applySighting(report, c, at);
          if (e) events.push(e);
        }
      }
      return events;
    }).immediate();
  }

  /** AlertState's form of applyReports (the worker's path): synchronous, nothing to republish (the outbox does that). */
  applySightings(batch: readonly ReportCandidates[]): AppliedSightings {
    return { events: this.applyReports(batch), republish: NOTHING };
  }

  applyReport(report: AcceptedReport, candidates: readonly AlertCandidate[]): AlertEvent[] {
    return candidates.length === 0 ? [] : this.applyReports([{ report, candidates }]);
  }

  private applySighting(report: AcceptedReport, c: AlertCandidate, at: number): AlertEvent | undefined {
    const { tenant, reportId } = report;
    if (this.st.applied.get(tenant, reportId, c.citizen)) return undefined;
    const row = this.st.findOpen.get({ tenant, drone: report.droneId, citizen: c.citizen, ts: report.ts, w: this.dedupWindowMs });
    let alert: Alert;
    let type: AlertEventType;
    if (row) {
      alert = mergeSighting(alertFromRow(row), report, c, at);
      type = 'updated';
      this.st.update.run(rowFromAlert(alert, row.version + 1));
    } else {
      alert = alertFromSighting(report, c, at);
      type = 'raised';
      this.st.insert.run(rowFromAlert(alert, 1));
    }
    this.st.markApplied.run(tenant, reportId, c.citizen, alert.alertId, at);
    return this.recordEvent({ eventId: eventIdOf(alert.alertId, type, reportId), type, at, by: null, alert });
  }

  /** open -> acknowledged. */
  acknowledge(alertId: string, by: string, note?: string): AlertEvent {
    return this.transition(alertId, 'acknowledge', acknowledgeChange(by, note), by);
  }

  /** Sets who handles the alert; allowed while it is not resolved (status unchanged). */
  assign(alertId: string, assignee: string, by: string): AlertEvent {
    return this.transition(alertId, 'assign', assignChange(assignee), by);
  }

  /** open -> resolved, acknowledged -> resolved. A later sighting of the citizen opens a new alert. */
  resolve(alertId: string, by: string, note?: string): AlertEvent {
    return this.transition(alertId, 'resolve', resolveChange(by, note), by);
  }

  private transition(
    alertId: string,
    action: LifecycleAction,
    change: LifecycleChange,
    by: string,
  ): AlertEvent {
    return this.db.transaction(() => {
      const row = this.st.get.get(alertId);
      if (!row) throw new AlertNotFoundError(alertId);
      const at = this.now();
      const current = alertFromRow(row);
      const next = change(current, at);
      if (!next) throw new AlertTransitionError(alertId, current.status, action);
      const alert = { ...next.alert, updatedAt: at };
      const version = row.version + 1;
      this.st.update.run(rowFromAlert(alert, version));
      return this.recordEvent({ eventId: eventIdOf(alertId, next.type, version), type: next.type, at, by, alert });
    }).immediate();
  }

  private recordEvent(e: AlertEvent): AlertEvent {
    this.st.outboxAdd.run(e.eventId, e.alert.droneId, JSON.stringify(e), e.at);
    return e;
  }

  get(alertId: string): Alert | undefined {
    const row = this.st.get.get(alertId);
    return row ? alertFromRow(row) : undefined;
  }

  /** Newest first (by `raisedAt`). */
  list(q: AlertListQuery = {}): Alert[] {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    const statuses = q.status === undefined ? [] : typeof q.status === 'string' ? [q.status] : q.status;
    if (statuses.length > 0) {
      where.push(`status IN (${statuses.map((_, i) => `@s${i}`).join(', ')})`);
      statuses.forEach((s, i) => (params[`s${i}`] = s));
    }
    if (q.tenant !== undefined) (where.push('tenant = @tenant'), (params.tenant = q.tenant));
    if (q.droneId !== undefined) (where.push('drone_id = @drone'), (params.drone = q.droneId));
    if (q.citizen !== undefined) (where.push('citizen = @citizen'), (params.citizen = q.citizen));
    if (q.since !== undefined) (where.push('raised_at >= @since'), (params.since = q.since));
    if (q.bbox) {
      where.push('lat BETWEEN @minLat AND @maxLat AND lon BETWEEN @minLon AND @maxLon');
      [params.minLat, params.minLon, params.maxLat, params.maxLon] = q.bbox;
    }
    params.limit = Math.max(1, Math.min(10_000, Math.floor(q.limit ?? 100)));
    const sql = `SELECT ${ALERT_COLUMNS} FROM alerts ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY raised_at DESC, alert_id DESC LIMIT @limit`;
    let stmt = this.listCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (this.listCache.size < 64) this.listCache.set(sql, stmt);
    }
    return (stmt.all(params) as AlertRow[]).map(alertFromRow);
  }

  countByStatus(): Record<AlertStatus, number> {
    const out: Record<AlertStatus, number> = { open: 0, acknowledged: 0, resolved: 0 };
    for (const r of this.st.countByStatus.all()) out[r.status as AlertStatus] = r.n;
    return out;
  }

  /**
   * Reaction times of the alerts raised in [from, to). Durations are sorted by SQLite and summarised here; at most
   * `maxSamples` of each (the fastest), which only matters for periods with more acknowledgements than that.
   */
  reactionTimes(from: number, to: number, opts: { tenant?: string; maxSamples?: number } = {}): ReactionTimes {
    // NULL tenant: every tenant (library use); the API always passes the caller's.
    const t = opts.tenant ?? null;
    const max = opts.maxSamples ?? 200_000;
    const counts = this.st.reactionCounts.get(from, to, t, t)!;
    const ack = this.st.reactionAck.all(from, to, t, t, max).map((r) => r.d);
    const res = this.st.reactionResolve.all(from, to, t, t, max).map((r) => r.d);
    return { from, to, alerts: counts.n, open: counts.open ?? 0, toAcknowledge: summariseDurations(ack), toResolve: summariseDurations(res) };
  }

  /** Events not yet published on the `alerts` topic, oldest first; `olderThanMs` skips ones a publisher may still be handling. */
  pendingEvents(opts: { olderThanMs?: number; limit?: number } = {}): AlertEvent[] {
    const cutoff = this.now() - (opts.olderThanMs ?? 0);
    return this.st.outboxPending.all(cutoff, opts.limit ?? 1000).map((r) => JSON.parse(r.body) as AlertEvent);
  }

  pendingCount(): number {
    return this.st.outboxCount.get()!.n;
  }

  /** Removes published events from the outbox. */
  markPublished(eventIds: readonly string[]): void {
    if (eventIds.length === 0) return;
    this.db.transaction(() => {
      for (const id of eventIds) this.st.outboxDelete.run(id);
    }).immediate();
  }

  /** Forgets sightings applied longer ago than `appliedRetentionMs`; returns how many. */
  prune(): number {
    return this.st.prune.run(this.now() - this.appliedRetentionMs).changes;
  }

  /** Moves WAL checkpoints to a worker thread (see util/wal-checkpointer.ts): the worker's commits then never stall on one. */
  async offloadCheckpoints(): Promise<void> {
    this.checkpointer ??= await WalCheckpointer.start(this.db, this.db.name);
  }

  close(): void {
    void this.checkpointer?.stop();
    if (this.db.open) this.db.close();
  }
}

const NOTHING: readonly AlertEvent[] = Object.freeze([]);

type Statements = ReturnType<typeof prepareStatements>;

function prepareStatements(db: Database.Database) {
  return {
    applied: db.prepare<[string, string, string], { alert_id: string }>(
      'SELECT alert_id FROM applied WHERE tenant = ? AND report_id = ? AND citizen = ?'),
    markApplied: db.prepare('INSERT OR IGNORE INTO applied (tenant, report_id, citizen, alert_id, applied_at) VALUES (?, ?, ?, ?, ?)'),
    findOpen: db.prepare<{ tenant: string; drone: string; citizen: string; ts: number; w: number }, AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant = @tenant AND drone_id = @drone AND citizen = @citizen
       AND status <> 'resolved' AND last_seen_ts >= @ts - @w AND first_seen_ts <= @ts + @w
       ORDER BY last_seen_ts DESC LIMIT 1`),
    get: db.prepare<[string], AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE alert_id = ?`),
    insert: db.prepare(INSERT_ALERT_SQL),
    update: db.prepare(UPDATE_ALERT_SQL),
    outboxAdd: db.prepare('INSERT OR IGNORE INTO outbox (event_id, drone_id, body, created_at) VALUES (?, ?, ?, ?)'),
    outboxPending: db.prepare<[number, number], { body: string }>(
      'SELECT body FROM outbox WHERE created_at <= ? ORDER BY seq LIMIT ?'),
    outboxDelete: db.prepare('DELETE FROM outbox WHERE event_id = ?'),
    outboxCount: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox'),
    prune: db.prepare('DELETE FROM applied WHERE applied_at < ?'),
    countByStatus: db.prepare<[], { status: string; n: number }>('SELECT status, count(*) AS n FROM alerts GROUP BY status'),
    reactionCounts: db.prepare<[number, number, string | null, string | null], { n: number; open: number | null }>(
      "SELECT count(*) AS n, sum(status = 'open') AS open FROM alerts WHERE raised_at >= ? AND raised_at < ? AND (? IS NULL OR tenant = ?)"),
    reactionAck: db.prepare<[number, number, string | null, string | null, number], { d: number }>(
      'SELECT acknowledged_at - raised_at AS d FROM alerts WHERE raised_at >= ? AND raised_at < ? AND (? IS NULL OR tenant = ?) AND acknowledged_at IS NOT NULL ORDER BY d LIMIT ?'),
    reactionResolve: db.prepare<[number, number, string | null, string | null, number], { d: number }>(
      'SELECT resolved_at - raised_at AS d FROM alerts WHERE raised_at >= ? AND raised_at < ? AND (? IS NULL OR tenant = ?) AND resolved_at IS NOT NULL ORDER BY d LIMIT ?'),
  };
}
