import { TENANT_PATTERN, type LakeTable } from './layout.ts';
import { INCIDENTS_SCHEMA } from './schema-incidents.ts';

/** The tenant id pattern as a SQL string literal (it holds no quote): a row with another tenant cannot be stored. */
const TENANT_SQL = `'${TENANT_PATTERN.source}'`;

/**
 * The lake's two schemas per table:
 * - the STORED columns (what the Parquet files hold), chosen for size: see docs/lake-format.md for the measurements;
 * - the VIEW columns (what `reports` / `alert_events` show), which restore every field of the original record.
 *
 * Stored `reports` columns that differ from the view:
 * - no report_id: it is `drone_id:epoch_ms(ts)` by contract; `report_id_raw` keeps it only when it is not;
 * - positions as integers in units of 1e-7 degree (`lat_e7`, `lon_e7`: the unit drone autopilots use), delta-encoded
 *   to ~2 bytes; `lat_raw`/`lon_raw` keep the exact double when it is not such a multiple (then the e7 column is NULL);
 * - `received_after_ms` = receivedAt - ts instead of a second timestamp;
 * - `timestamp_raw`: the report's `timestamp` text only when it differs from the canonical `toISOString()` of ts;
 * - citizen_count and min_score are computed by the view (storing them costs bytes and they prune nothing).
 * Every one of these is exact: the view gives back the same doubles, strings and instants the stream carried.
 */

/** read_json column types of an AcceptedReport. Epoch-ms fields are read as DOUBLE so that fractions are detected, not rounded. */
export const REPORT_JSON_COLUMNS = `{'reportId': 'VARCHAR', 'droneId': 'VARCHAR', 'timestamp': 'VARCHAR', 'ts': 'DOUBLE', 'receivedAt': 'DOUBLE', 'tenant': 'VARCHAR', 'position': 'STRUCT(lat DOUBLE, lon DOUBLE)', 'citizens': 'STRUCT(name VARCHAR, score DOUBLE)[]', 'words': 'VARCHAR[]'}`;

export const ALERT_EVENT_JSON_COLUMNS = `{'eventId': 'VARCHAR', 'type': 'VARCHAR', 'at': 'DOUBLE', 'by': 'VARCHAR', 'alert': 'STRUCT(alertId VARCHAR, tenant VARCHAR, droneId VARCHAR, citizen VARCHAR, score DOUBLE, severity VARCHAR, rule VARCHAR, position STRUCT(lat DOUBLE, lon DOUBLE), words VARCHAR[], firstReportId VARCHAR, lastReportId VARCHAR, firstSeenTs DOUBLE, lastSeenTs DOUBLE, raisedAt DOUBLE, updatedAt DOUBLE, occurrences DOUBLE, status VARCHAR, assignee VARCHAR, acknowledgedBy VARCHAR, acknowledgedAt DOUBLE, resolvedBy VARCHAR, resolvedAt DOUBLE, note VARCHAR, ruleVersion DOUBLE, silenced VARCHAR)'}`;

/** An epoch-ms DOUBLE that is a whole number (or NULL when `nullable`): what the lake stores exactly. */
function wholeMs(expr: string, nullable: boolean): string {
  const ok = `(${expr} = trunc(${expr}) AND abs(${expr}) < 9007199254740992)`;
  return nullable ? `(${expr} IS NULL OR ${ok})` : `(${expr} IS NOT NULL AND ${ok})`;
}

function msToTimestamp(expr: string): string {
  return `epoch_ms(CAST(${expr} AS BIGINT))`;
}

/** The e7 integer of a coordinate when it reproduces the double exactly (and fits an INTEGER), else NULL. */
function e7(expr: string): string {
  return `CASE WHEN abs(${expr}) < 214 AND CAST(round(${expr} * 1e7) AS DOUBLE) / 1e7 = ${expr} AND NOT (${expr} = 0 AND signbit(${expr})) THEN CAST(round(${expr} * 1e7) AS INTEGER) END`;
}

function rawUnlessE7(expr: string): string {
  return `CASE WHEN (${e7(expr)}) IS NULL THEN ${expr} END`;
}

/** Canonical text of a report time, the same as JavaScript's `new Date(ts).toISOString()` for years 0000-9999. */
function isoText(tsExpr: string): string {
  return `strftime(${tsExpr}, '%Y-%m-%dT%H:%M:%S.%gZ')`;
}

export interface TableSchema {
  table: LakeTable;
  jsonColumns: string;
  /** Rows of the raw JSON relation that the lake cannot store exactly (they go to the slow path). */
  invalidRowPredicate: string;
  /** SELECT list from the raw JSON relation to the stored columns plus the `date`/`hour` partition columns. */
  storedProjection: string;
  /** Stored columns with their types (partition columns excluded), for empty views and checks. */
  storedColumns: readonly (readonly [name: string, type: string])[];
  /**
   * Stored columns (also in storedColumns) that files written before they were added lack: readers must read the
   * table's files by column name and fill NULL for them (sourceOf in sandbox.ts, compaction, the Spark job).
   */
  addedColumns?: readonly (readonly [name: string, type: string])[];
  /** Row order within a file. */
  orderBy: string;
  /**
   * What identifies a row (SQL over stored columns): two rows with the same identity in one tenant are copies of one
   * report or event (a retry after the stream's duplicate window), of which compaction keeps one.
   */
  identity: string;
  /** Which copy compaction keeps: the first in this order (the first stored). */
  firstCopy: string;
  /** SELECT list from a relation of stored columns (+ date, hour) to the view columns. */
  viewProjection: string;
}

const reportTs = msToTimestamp('ts');

export const REPORTS_SCHEMA: TableSchema = {
  table: 'reports',
  jsonColumns: REPORT_JSON_COLUMNS,
  invalidRowPredicate: [
    ...['reportId', 'droneId', '"timestamp"', 'tenant', 'position', 'position.lat', 'position.lon', 'citizens', 'words'].map((c) => `${c} IS NULL`),
    `NOT regexp_full_match(tenant, ${TENANT_SQL})`,
    `list_bool_or(list_transform(citizens, c -> c IS NULL OR c.name IS NULL OR c.score IS NULL))`,
    'list_bool_or(list_transform(words, w -> w IS NULL))',
    `NOT ${wholeMs('ts', false)}`,
    `NOT ${wholeMs('receivedAt', false)}`,
  ].join(' OR '),
  storedProjection: [
    `strftime(${reportTs}, '%Y-%m-%d') AS date`,
    `strftime(${reportTs}, '%H') AS hour`,
    'tenant',
    'droneId AS drone_id',
    `CAST(${reportTs} AS TIMESTAMP_MS) AS ts`,
    `${e7('position.lat')} AS lat_e7`,
    `${e7('position.lon')} AS lon_e7`,
    `${rawUnlessE7('position.lat')} AS lat_raw`,
    `${rawUnlessE7('position.lon')} AS lon_raw`,
    'citizens',
    'words',
    'CAST(receivedAt - ts AS BIGINT) AS received_after_ms',
    `CASE WHEN reportId IS DISTINCT FROM droneId || ':' || CAST(CAST(ts AS BIGINT) AS VARCHAR) THEN reportId END AS report_id_raw`,
    `CASE WHEN "timestamp" IS DISTINCT FROM ${isoText(reportTs)} THEN "timestamp" END AS timestamp_raw`,
  ].join(',\n  '),
  storedColumns: [
    ['tenant', 'VARCHAR'],
    ['drone_id', 'VARCHAR'],
    ['ts', 'TIMESTAMP_MS'],
    ['lat_e7', 'INTEGER'],
    ['lon_e7', 'INTEGER'],
    ['lat_raw', 'DOUBLE'],
    ['lon_raw', 'DOUBLE'],
    ['citizens', 'STRUCT(name VARCHAR, score DOUBLE)[]'],
    ['words', 'VARCHAR[]'],
    ['received_after_ms', 'BIGINT'],
    ['report_id_raw', 'VARCHAR'],
    ['timestamp_raw', 'VARCHAR'],
  ],
  orderBy: 'drone_id, ts',
  identity: `coalesce(report_id_raw, drone_id || ':' || CAST(epoch_ms(ts) AS VARCHAR))`,
  // A copy has the same content (the id is drone + timestamp) but a later reception.
  firstCopy: 'received_after_ms',
  viewProjection: [
    `coalesce(report_id_raw, drone_id || ':' || CAST(epoch_ms(ts) AS VARCHAR)) AS report_id`,
    'tenant',
    'drone_id',
    'CAST(ts AS TIMESTAMP) AS ts',
    `coalesce(timestamp_raw, ${isoText('ts')}) AS timestamp_text`,
    'coalesce(CAST(lat_e7 AS DOUBLE) / 1e7, lat_raw) AS lat',
    'coalesce(CAST(lon_e7 AS DOUBLE) / 1e7, lon_raw) AS lon',
    'citizens',
    'words',
    'len(citizens) AS citizen_count',
    'list_min(list_transform(citizens, c -> c.score)) AS min_score',
    'CAST(ts AS TIMESTAMP) + to_milliseconds(received_after_ms) AS received_at',
    'date',
    'hour',
  ].join(',\n  '),
};

const alertField = (f: string): string => `alert.${f}`;

/**
 * Alert columns added after the table's first files (issue 19): the rule set version that raised the alert, whether it
 * was silenced and by which silence. Last, so positional readers of older files still line up; files written before
 * them lack them, and every reader fills NULL (sourceOf's union by name; Spark reads with the full schema): NULL
 * `silenced` means "written before the column existed", not "not silenced" (docs/lake-format.md, schema evolution).
 */
const ALERT_COLUMNS_ADDED: readonly (readonly [string, string])[] = [
  ['rule_version', 'INTEGER'],
  ['silenced', 'BOOLEAN'],
  ['silence_id', 'VARCHAR'],
];

export const ALERTS_SCHEMA: TableSchema = {
  table: 'alerts',
  jsonColumns: ALERT_EVENT_JSON_COLUMNS,
  invalidRowPredicate: [
    ...['"eventId"', '"type"', 'alert'].map((c) => `${c} IS NULL`),
    ...['alertId', 'tenant', 'droneId', 'citizen', 'score', 'severity', 'rule', 'position', 'position.lat', 'position.lon', 'words', 'firstReportId',
      'lastReportId', 'status'].map((f) => `${alertField(f)} IS NULL`),
    `list_bool_or(list_transform(${alertField('words')}, w -> w IS NULL))`,
    `NOT regexp_full_match(${alertField('tenant')}, ${TENANT_SQL})`,
    `NOT ${wholeMs('"at"', false)}`,
    ...['firstSeenTs', 'lastSeenTs', 'raisedAt', 'updatedAt', 'occurrences'].map((f) => `NOT ${wholeMs(alertField(f), false)}`),
    ...['acknowledgedAt', 'resolvedAt'].map((f) => `NOT ${wholeMs(alertField(f), true)}`),
    `NOT (${alertField('ruleVersion')} IS NULL OR (${alertField('ruleVersion')} = trunc(${alertField('ruleVersion')}) AND ${alertField('ruleVersion')} BETWEEN 1 AND 2147483647))`,
  ].join(' OR '),
  storedProjection: [
    `strftime(${msToTimestamp('"at"')}, '%Y-%m-%d') AS date`,
    `strftime(${msToTimestamp('"at"')}, '%H') AS hour`,
    '"eventId" AS event_id',
    '"type"',
    `${msToTimestamp('"at"')} AS "at"`,
    '"by"',
    `${alertField('alertId')} AS alert_id`,
    `${alertField('tenant')} AS tenant`,
    `${alertField('droneId')} AS drone_id`,
    `${alertField('citizen')} AS citizen`,
    `${alertField('score')} AS score`,
    `${alertField('severity')} AS severity`,
    `${alertField('rule')} AS rule`,
    `${alertField('position')}.lat AS lat`,
    `${alertField('position')}.lon AS lon`,
    `${alertField('words')} AS words`,
    `${alertField('firstReportId')} AS first_report_id`,
    `${alertField('lastReportId')} AS last_report_id`,
    `${msToTimestamp(alertField('firstSeenTs'))} AS first_seen_ts`,
    `${msToTimestamp(alertField('lastSeenTs'))} AS last_seen_ts`,
    `${msToTimestamp(alertField('raisedAt'))} AS raised_at`,
    `${msToTimestamp(alertField('updatedAt'))} AS updated_at`,
    `CAST(${alertField('occurrences')} AS INTEGER) AS occurrences`,
    `${alertField('status')} AS status`,
    `${alertField('assignee')} AS assignee`,
    `${alertField('acknowledgedBy')} AS acknowledged_by`,
    `${msToTimestamp(alertField('acknowledgedAt'))} AS acknowledged_at`,
    `${alertField('resolvedBy')} AS resolved_by`,
    `${msToTimestamp(alertField('resolvedAt'))} AS resolved_at`,
    `${alertField('note')} AS note`,
    `CAST(${alertField('ruleVersion')} AS INTEGER) AS rule_version`,
    `${alertField('silenced')} IS NOT NULL AS silenced`,
    `${alertField('silenced')} AS silence_id`,
  ].join(',\n  '),
  storedColumns: [
    ['event_id', 'VARCHAR'],
    ['type', 'VARCHAR'],
    ['at', 'TIMESTAMP'],
    ['by', 'VARCHAR'],
    ['alert_id', 'VARCHAR'],
    ['tenant', 'VARCHAR'],
    ['drone_id', 'VARCHAR'],
    ['citizen', 'VARCHAR'],
    ['score', 'DOUBLE'],
    ['severity', 'VARCHAR'],
    ['rule', 'VARCHAR'],
    ['lat', 'DOUBLE'],
    ['lon', 'DOUBLE'],
    ['words', 'VARCHAR[]'],
    ['first_report_id', 'VARCHAR'],
    ['last_report_id', 'VARCHAR'],
    ['first_seen_ts', 'TIMESTAMP'],
    ['last_seen_ts', 'TIMESTAMP'],
    ['raised_at', 'TIMESTAMP'],
    ['updated_at', 'TIMESTAMP'],
    ['occurrences', 'INTEGER'],
    ['status', 'VARCHAR'],
    ['assignee', 'VARCHAR'],
    ['acknowledged_by', 'VARCHAR'],
    ['acknowledged_at', 'TIMESTAMP'],
    ['resolved_by', 'VARCHAR'],
    ['resolved_at', 'TIMESTAMP'],
    ['note', 'VARCHAR'],
    ...ALERT_COLUMNS_ADDED,
  ],
  addedColumns: ALERT_COLUMNS_ADDED,
  orderBy: 'alert_id, "at", event_id',
  identity: 'event_id',
  // A republished event carries the alert as it was at republishing: the original comes first.
  firstCopy: '"at"',
  viewProjection: '*',
};

export const SCHEMAS: Record<LakeTable, TableSchema> = { reports: REPORTS_SCHEMA, alerts: ALERTS_SCHEMA, incidents: INCIDENTS_SCHEMA };

/**
 * The latest state of each incident, from its events (the `incidents` view). Events carry no version, so "latest" is
 * the last change's wall clock (`updated_at`), then the later status (a merge or resolution is final; an officer's
 * change and the grouping's can be stamped the same millisecond by two processes), then the most alerts.
 */
export const LATEST_INCIDENTS_SQL = `SELECT * EXCLUDE (event_id, "type", "at", "by", date, hour)
FROM incident_events
QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY updated_at DESC,
  CASE status WHEN 'merged' THEN 3 WHEN 'resolved' THEN 2 WHEN 'acknowledged' THEN 1 ELSE 0 END DESC,
  alert_count DESC, "at" DESC, event_id DESC) = 1`;

/** The latest state of each alert, from its events (the `alerts` view). */
export const LATEST_ALERTS_SQL = `SELECT * EXCLUDE (event_id, "type", "at", "by", date, hour)
FROM alert_events
QUALIFY row_number() OVER (PARTITION BY alert_id ORDER BY updated_at DESC, "at" DESC, occurrences DESC, event_id DESC) = 1`;

/** One row per citizen seen (the `sightings` view): the report's columns plus `citizen` and `score`. */
export const SIGHTINGS_SQL = `SELECT * EXCLUDE (c), c.name AS citizen, c.score AS score FROM (SELECT *, unnest(citizens) AS c FROM reports)`;

/** One row per word heard (the `words` view): the report's columns plus `word`. */
export const WORDS_SQL = `SELECT *, unnest(words) AS word FROM reports`;

/** Partition columns as readers see them (hive_types). */
export const HIVE_TYPES = `{'date': DATE, 'hour': INTEGER}`;
