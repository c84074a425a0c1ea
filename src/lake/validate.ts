import { isValidTenant, TENANT_PATTERN, type LakeTable } from './layout.ts';

/**
 * Shape checks for the slow path of a batch write (DuckDB refused the batch or found rows it cannot store exactly):
 * they tell which records go to `_rejected/` instead of the table. They mirror the table's invalid-row predicate in
 * schema.ts; the fast path never runs them.
 */

type Json = Record<string, unknown>;

const MAX_EPOCH_MS = 8_640_000_000_000_000;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEpochMs(v: unknown): boolean {
  return Number.isSafeInteger(v) && Math.abs(v as number) <= MAX_EPOCH_MS;
}

function isFiniteNumber(v: unknown): boolean {
  return typeof v === 'number' && Number.isFinite(v);
}

function isStringArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((w) => typeof w === 'string');
}

function isPosition(v: unknown): boolean {
  return isObject(v) && isFiniteNumber(v.lat) && isFiniteNumber(v.lon);
}

const isNullableString = (v: unknown): boolean => v === undefined || v === null || typeof v === 'string';

/** Why an accepted report cannot be stored, or undefined if it can. */
export function reportProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  for (const k of ['reportId', 'droneId', 'timestamp', 'tenant']) if (typeof v[k] !== 'string') return `${k} must be a string`;
  if (!isValidTenant(v.tenant)) return `tenant must match ${TENANT_PATTERN.source}`;
  if (!isEpochMs(v.ts)) return 'ts must be an integer epoch-ms';
  if (!isEpochMs(v.receivedAt)) return 'receivedAt must be an integer epoch-ms';
  if (!isPosition(v.position)) return 'position must be {lat, lon} numbers';
  if (!Array.isArray(v.citizens) || !v.citizens.every((c) => isObject(c) && typeof c.name === 'string' && isFiniteNumber(c.score))) {
    return 'citizens must be [{name, score}]';
  }
  if (!isStringArray(v.words)) return 'words must be strings';
  return undefined;
}

/** Why an alert event cannot be stored, or undefined if it can. */
export function alertEventProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (typeof v.eventId !== 'string' || typeof v.type !== 'string') return 'eventId and type must be strings';
  if (!isEpochMs(v.at)) return 'at must be an integer epoch-ms';
  if (!isNullableString(v.by)) return 'by must be a string or null';
  const a = v.alert;
  if (!isObject(a)) return 'alert must be an object';
  for (const k of ['alertId', 'tenant', 'droneId', 'citizen', 'severity', 'rule', 'firstReportId', 'lastReportId', 'status']) {
    if (typeof a[k] !== 'string') return `alert.${k} must be a string`;
  }
  if (!isValidTenant(a.tenant)) return `alert.tenant must match ${TENANT_PATTERN.source}`;
  if (!isFiniteNumber(a.score)) return 'alert.score must be a number';
  if (!isPosition(a.position)) return 'alert.position must be {lat, lon} numbers';
  if (!isStringArray(a.words)) return 'alert.words must be strings';
  for (const k of ['firstSeenTs', 'lastSeenTs', 'raisedAt', 'updatedAt']) if (!isEpochMs(a[k])) return `alert.${k} must be an integer epoch-ms`;
  if (!Number.isSafeInteger(a.occurrences) || (a.occurrences as number) < -2147483648 || (a.occurrences as number) > 2147483647) {
    return 'alert.occurrences must be a 32-bit integer';
  }
  for (const k of ['assignee', 'acknowledgedBy', 'resolvedBy', 'note']) if (!isNullableString(a[k])) return `alert.${k} must be a string or null`;
  for (const k of ['acknowledgedAt', 'resolvedAt']) {
    if (!(a[k] === undefined || a[k] === null || isEpochMs(a[k]))) return `alert.${k} must be an integer epoch-ms or null`;
  }
  const rv = a.ruleVersion;
  if (!(rv === undefined || rv === null || (Number.isSafeInteger(rv) && (rv as number) >= 1 && (rv as number) <= 2147483647))) {
    return 'alert.ruleVersion must be a positive 32-bit integer when present';
  }
  if (!isNullableString(a.silenced)) return 'alert.silenced must be a silence id (string) when present';
  return undefined;
}

/** Why an incident event cannot be stored, or undefined if it can (mirrors INCIDENTS_SCHEMA's invalid-row predicate). */
export function incidentEventProblem(v: unknown): string | undefined {
  if (!isObject(v)) return 'not a JSON object';
  if (typeof v.eventId !== 'string' || typeof v.type !== 'string') return 'eventId and type must be strings';
  if (!isEpochMs(v.at)) return 'at must be an integer epoch-ms';
  if (!isNullableString(v.by)) return 'by must be a string or null';
  const i = v.incident;
  if (!isObject(i)) return 'incident must be an object';
  for (const k of ['incidentId', 'tenant', 'status', 'severity']) if (typeof i[k] !== 'string') return `incident.${k} must be a string`;
  if (!isValidTenant(i.tenant)) return `incident.tenant must match ${TENANT_PATTERN.source}`;
  if (!isPosition(i.centroid)) return 'incident.centroid must be {lat, lon} numbers';
  if (!Array.isArray(i.bbox) || i.bbox.length !== 4 || !i.bbox.every(isFiniteNumber)) return 'incident.bbox must be 4 numbers';
  for (const k of ['radiusM', 'lowestScore']) if (!isFiniteNumber(i[k])) return `incident.${k} must be a number`;
  for (const k of ['citizenCount', 'droneCount', 'alertCount']) {
    if (!Number.isSafeInteger(i[k]) || (i[k] as number) < 0 || (i[k] as number) > 2147483647) return `incident.${k} must be a 32-bit count`;
  }
  if (typeof i.growing !== 'boolean') return 'incident.growing must be a boolean';
  const g = i.growth;
  if (!isObject(g) || !isFiniteNumber(g.citizensPerMinute) || !isFiniteNumber(g.radiusGrowthM) || typeof g.spreading !== 'boolean') {
    return 'incident.growth must be {citizensPerMinute, radiusGrowthM, spreading}';
  }
  for (const k of ['firstAt', 'lastAt', 'openedAt', 'updatedAt']) if (!isEpochMs(i[k])) return `incident.${k} must be an integer epoch-ms`;
  for (const k of ['assignee', 'acknowledgedBy', 'resolvedBy', 'note', 'mergedInto']) if (!isNullableString(i[k])) return `incident.${k} must be a string or null`;
  for (const k of ['acknowledgedAt', 'resolvedAt']) {
    if (!(i[k] === undefined || i[k] === null || isEpochMs(i[k]))) return `incident.${k} must be an integer epoch-ms or null`;
  }
  return undefined;
}

export const PROBLEM_OF: Record<LakeTable, (v: unknown) => string | undefined> = {
  reports: reportProblem,
  alerts: alertEventProblem,
  incidents: incidentEventProblem,
};
