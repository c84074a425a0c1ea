import { TENANT_PATTERN } from './layout.ts';
import type { TableSchema } from './schema.ts';

/**
 * The `incidents` table: incident events as the alert worker and the officers' changes put them on the `incidents`
 * topic (src/incidents/publish.ts), one row per event, the incident flattened into columns (docs/lake-format.md,
 * "`incidents`"). Its own file: schema.ts holds the two older tables and is near its size limit.
 */

const TENANT_SQL = `'${TENANT_PATTERN.source}'`;

export const INCIDENT_EVENT_JSON_COLUMNS = `{'eventId': 'VARCHAR', 'type': 'VARCHAR', 'at': 'DOUBLE', 'by': 'VARCHAR', 'incident': 'STRUCT(incidentId VARCHAR, tenant VARCHAR, status VARCHAR, severity VARCHAR, centroid STRUCT(lat DOUBLE, lon DOUBLE), bbox DOUBLE[], radiusM DOUBLE, firstAt DOUBLE, lastAt DOUBLE, citizenCount DOUBLE, droneCount DOUBLE, alertCount DOUBLE, lowestScore DOUBLE, growing BOOLEAN, growth STRUCT(citizensPerMinute DOUBLE, radiusGrowthM DOUBLE, spreading BOOLEAN), openedAt DOUBLE, updatedAt DOUBLE, assignee VARCHAR, acknowledgedBy VARCHAR, acknowledgedAt DOUBLE, resolvedBy VARCHAR, resolvedAt DOUBLE, note VARCHAR, mergedInto VARCHAR)'}`;

const f = (name: string): string => `incident.${name}`;

function wholeMs(expr: string, nullable: boolean): string {
  const ok = `(${expr} = trunc(${expr}) AND abs(${expr}) < 9007199254740992)`;
  return nullable ? `(${expr} IS NULL OR ${ok})` : `(${expr} IS NOT NULL AND ${ok})`;
}

/** A count the lake stores as INTEGER: whole, non-negative, 32-bit. */
function count(expr: string): string {
  return `(${expr} IS NOT NULL AND ${expr} = trunc(${expr}) AND ${expr} >= 0 AND ${expr} <= 2147483647)`;
}

const ts = (expr: string): string => `epoch_ms(CAST(${expr} AS BIGINT))`;

export const INCIDENTS_SCHEMA: TableSchema = {
  table: 'incidents',
  jsonColumns: INCIDENT_EVENT_JSON_COLUMNS,
  invalidRowPredicate: [
    ...['"eventId"', '"type"', 'incident'].map((c) => `${c} IS NULL`),
    ...['incidentId', 'tenant', 'status', 'severity', 'centroid', 'centroid.lat', 'centroid.lon', 'bbox', 'radiusM', 'lowestScore', 'growing',
      'growth', 'growth.citizensPerMinute', 'growth.radiusGrowthM', 'growth.spreading'].map((n) => `${f(n)} IS NULL`),
    `len(${f('bbox')}) <> 4`,
    `list_bool_or(list_transform(${f('bbox')}, x -> x IS NULL))`,
    `NOT regexp_full_match(${f('tenant')}, ${TENANT_SQL})`,
    `NOT ${wholeMs('"at"', false)}`,
    ...['firstAt', 'lastAt', 'openedAt', 'updatedAt'].map((n) => `NOT ${wholeMs(f(n), false)}`),
    ...['acknowledgedAt', 'resolvedAt'].map((n) => `NOT ${wholeMs(f(n), true)}`),
    ...['citizenCount', 'droneCount', 'alertCount'].map((n) => `NOT ${count(f(n))}`),
  ].join(' OR '),
  storedProjection: [
    `strftime(${ts('"at"')}, '%Y-%m-%d') AS date`,
    `strftime(${ts('"at"')}, '%H') AS hour`,
    '"eventId" AS event_id',
    '"type"',
    `${ts('"at"')} AS "at"`,
    '"by"',
    `${f('incidentId')} AS incident_id`,
    `${f('tenant')} AS tenant`,
    `${f('status')} AS status`,
    `${f('severity')} AS severity`,
    `${f('centroid')}.lat AS lat`,
    `${f('centroid')}.lon AS lon`,
    `${f('bbox')}[1] AS min_lat`,
    `${f('bbox')}[2] AS min_lon`,
    `${f('bbox')}[3] AS max_lat`,
    `${f('bbox')}[4] AS max_lon`,
    `${f('radiusM')} AS radius_m`,
    `${ts(f('firstAt'))} AS first_at`,
    `${ts(f('lastAt'))} AS last_at`,
    `CAST(${f('citizenCount')} AS INTEGER) AS citizen_count`,
    `CAST(${f('droneCount')} AS INTEGER) AS drone_count`,
    `CAST(${f('alertCount')} AS INTEGER) AS alert_count`,
    `${f('lowestScore')} AS lowest_score`,
    `${f('growing')} AS growing`,
    `${f('growth')}.citizensPerMinute AS citizens_per_minute`,
    `${f('growth')}.radiusGrowthM AS radius_growth_m`,
    `${f('growth')}.spreading AS spreading`,
    `${ts(f('openedAt'))} AS opened_at`,
    `${ts(f('updatedAt'))} AS updated_at`,
    `${f('assignee')} AS assignee`,
    `${f('acknowledgedBy')} AS acknowledged_by`,
    `${ts(f('acknowledgedAt'))} AS acknowledged_at`,
    `${f('resolvedBy')} AS resolved_by`,
    `${ts(f('resolvedAt'))} AS resolved_at`,
    `${f('note')} AS note`,
    `${f('mergedInto')} AS merged_into`,
  ].join(',\n  '),
  storedColumns: [
    ['event_id', 'VARCHAR'],
    ['type', 'VARCHAR'],
    ['at', 'TIMESTAMP'],
    ['by', 'VARCHAR'],
    ['incident_id', 'VARCHAR'],
    ['tenant', 'VARCHAR'],
    ['status', 'VARCHAR'],
    ['severity', 'VARCHAR'],
    ['lat', 'DOUBLE'],
    ['lon', 'DOUBLE'],
    ['min_lat', 'DOUBLE'],
    ['min_lon', 'DOUBLE'],
    ['max_lat', 'DOUBLE'],
    ['max_lon', 'DOUBLE'],
    ['radius_m', 'DOUBLE'],
    ['first_at', 'TIMESTAMP'],
    ['last_at', 'TIMESTAMP'],
    ['citizen_count', 'INTEGER'],
    ['drone_count', 'INTEGER'],
    ['alert_count', 'INTEGER'],
    ['lowest_score', 'DOUBLE'],
    ['growing', 'BOOLEAN'],
    ['citizens_per_minute', 'DOUBLE'],
    ['radius_growth_m', 'DOUBLE'],
    ['spreading', 'BOOLEAN'],
    ['opened_at', 'TIMESTAMP'],
    ['updated_at', 'TIMESTAMP'],
    ['assignee', 'VARCHAR'],
    ['acknowledged_by', 'VARCHAR'],
    ['acknowledged_at', 'TIMESTAMP'],
    ['resolved_by', 'VARCHAR'],
    ['resolved_at', 'TIMESTAMP'],
    ['note', 'VARCHAR'],
    ['merged_into', 'VARCHAR'],
  ],
  orderBy: 'incident_id, "at", event_id',
  // Event ids are deterministic (incident, type, version): a copy is the same event published again.
  identity: 'event_id',
  firstCopy: '"at"',
  viewProjection: '*',
};
