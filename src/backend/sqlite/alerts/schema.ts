import type { Alert, AlertStatus, Severity } from '../../../alerts/types.ts';

/**
 * Tables of `<dataDir>/alerts.db`:
 * - `alerts`: current state of every alert; `version` counts changes (lifecycle event ids derive from it).
 * - `applied`: which (report, citizen) sightings were already applied, so a redelivered report changes nothing.
 *   Pruned after `appliedRetentionMs`.
 * - `outbox`: events written in the same transaction as the change they describe, deleted once published on the
 *   `alerts` topic. A crash between the store commit and the topic publish leaves them here for the next publish.
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS alerts (
  alert_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  drone_id TEXT NOT NULL,
  citizen TEXT NOT NULL,
  score REAL NOT NULL,
  severity TEXT NOT NULL,
  rule TEXT NOT NULL,
  lat REAL NOT NULL,
  lon REAL NOT NULL,
  words TEXT NOT NULL,
  first_report_id TEXT NOT NULL,
  last_report_id TEXT NOT NULL,
  first_seen_ts INTEGER NOT NULL,
  last_seen_ts INTEGER NOT NULL,
  raised_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  occurrences INTEGER NOT NULL,
  status TEXT NOT NULL,
  assignee TEXT,
  acknowledged_by TEXT,
  acknowledged_at INTEGER,
  resolved_by TEXT,
  resolved_at INTEGER,
  note TEXT,
  version INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS alerts_unresolved ON alerts (tenant, drone_id, citizen, last_seen_ts) WHERE status <> 'resolved';
CREATE INDEX IF NOT EXISTS alerts_raised ON alerts (raised_at DESC, alert_id DESC);
CREATE INDEX IF NOT EXISTS alerts_drone ON alerts (drone_id, raised_at DESC);
CREATE TABLE IF NOT EXISTS applied (
  tenant TEXT NOT NULL,
  report_id TEXT NOT NULL,
  citizen TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  applied_at INTEGER NOT NULL,
  PRIMARY KEY (tenant, report_id, citizen)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS applied_age ON applied (applied_at);
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL UNIQUE,
  drone_id TEXT NOT NULL,
  body TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

/**
 * Columns added after the first release (issue 19: the rule version that raised an alert, the silence it fell under),
 * added to an older alerts.db when it is opened; its alerts read them as absent.
 */
export function migrateAlertColumns(db: { prepare(sql: string): { all(): unknown[] }; exec(sql: string): unknown }): void {
  const cols = new Set((db.prepare("SELECT name FROM pragma_table_info('alerts')").all() as { name: string }[]).map((c) => c.name));
  if (!cols.has('rule_version')) db.exec('ALTER TABLE alerts ADD COLUMN rule_version INTEGER');
  if (!cols.has('silenced')) db.exec('ALTER TABLE alerts ADD COLUMN silenced TEXT');
}

export interface AlertRow {
  alert_id: string;
  tenant: string;
  drone_id: string;
  citizen: string;
  score: number;
  severity: string;
  rule: string;
  lat: number;
  lon: number;
  words: string;
  first_report_id: string;
  last_report_id: string;
  first_seen_ts: number;
  last_seen_ts: number;
  raised_at: number;
  updated_at: number;
  occurrences: number;
  status: string;
  assignee: string | null;
  acknowledged_by: string | null;
  acknowledged_at: number | null;
  resolved_by: string | null;
  resolved_at: number | null;
  note: string | null;
  version: number;
  rule_version: number | null;
  silenced: string | null;
}

export const ALERT_COLUMNS = `alert_id, tenant, drone_id, citizen, score, severity, rule, lat, lon, words, first_report_id,
  last_report_id, first_seen_ts, last_seen_ts, raised_at, updated_at, occurrences, status, assignee, acknowledged_by,
  acknowledged_at, resolved_by, resolved_at, note, version, rule_version, silenced`;

export const INSERT_ALERT_SQL = `INSERT INTO alerts (${ALERT_COLUMNS}) VALUES (@alert_id, @tenant, @drone_id, @citizen, @score,
  @severity, @rule, @lat, @lon, @words, @first_report_id, @last_report_id, @first_seen_ts, @last_seen_ts, @raised_at,
  @updated_at, @occurrences, @status, @assignee, @acknowledged_by, @acknowledged_at, @resolved_by, @resolved_at, @note, @version,
  @rule_version, @silenced)`;

/** Rewrites every mutable column: the store computes the new state in JS (one code path for all changes). */
export const UPDATE_ALERT_SQL = `UPDATE alerts SET score = @score, severity = @severity, rule = @rule, lat = @lat, lon = @lon,
  words = @words, last_report_id = @last_report_id, first_seen_ts = @first_seen_ts, last_seen_ts = @last_seen_ts,
  updated_at = @updated_at, occurrences = @occurrences, status = @status, assignee = @assignee,
  acknowledged_by = @acknowledged_by, acknowledged_at = @acknowledged_at, resolved_by = @resolved_by,
  resolved_at = @resolved_at, note = @note, version = @version, rule_version = @rule_version, silenced = @silenced
  WHERE alert_id = @alert_id`;

export function alertFromRow(r: AlertRow): Alert {
  return {
    alertId: r.alert_id,
    tenant: r.tenant,
    droneId: r.drone_id,
    citizen: r.citizen,
    score: r.score,
    severity: r.severity as Severity,
    rule: r.rule,
    ...(r.rule_version === null || r.rule_version === undefined ? {} : { ruleVersion: r.rule_version }),
    ...(r.silenced === null || r.silenced === undefined ? {} : { silenced: r.silenced }),
    position: { lat: r.lat, lon: r.lon },
    words: JSON.parse(r.words) as string[],
    firstReportId: r.first_report_id,
    lastReportId: r.last_report_id,
    firstSeenTs: r.first_seen_ts,
    lastSeenTs: r.last_seen_ts,
    raisedAt: r.raised_at,
    updatedAt: r.updated_at,
    occurrences: r.occurrences,
    status: r.status as AlertStatus,
    assignee: r.assignee,
    acknowledgedBy: r.acknowledged_by,
    acknowledgedAt: r.acknowledged_at,
    resolvedBy: r.resolved_by,
    resolvedAt: r.resolved_at,
    note: r.note,
  };
}

export function rowFromAlert(a: Alert, version: number): AlertRow {
  return {
    alert_id: a.alertId,
    tenant: a.tenant,
    drone_id: a.droneId,
    citizen: a.citizen,
    score: a.score,
    severity: a.severity,
    rule: a.rule,
    lat: a.position.lat,
    lon: a.position.lon,
    words: JSON.stringify(a.words),
    first_report_id: a.firstReportId,
    last_report_id: a.lastReportId,
    first_seen_ts: a.firstSeenTs,
    last_seen_ts: a.lastSeenTs,
    raised_at: a.raisedAt,
    updated_at: a.updatedAt,
    occurrences: a.occurrences,
    status: a.status,
    assignee: a.assignee,
    acknowledged_by: a.acknowledgedBy,
    acknowledged_at: a.acknowledgedAt,
    resolved_by: a.resolvedBy,
    resolved_at: a.resolvedAt,
    note: a.note,
    version,
    rule_version: a.ruleVersion ?? null,
    silenced: a.silenced ?? null,
  };
}
