import type { AcceptedReport } from '../../src/contract/types.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import { openLakeQuery, type ArchiveRecord, type LakeFileSource } from '../../src/lake/index.ts';

/** A lake location (a directory or s3://bucket/prefix) or a file source over one. */
export type Lake = string | LakeFileSource;

/** Stream-like records (consecutive offsets from `first`) carrying the JSON of each value. */
export function recordsOf(values: readonly unknown[], first = 0): ArchiveRecord[] {
  return values.map((v, i) => ({ offset: first + i, value: typeof v === 'string' ? v : JSON.stringify(v) }));
}

/** The tenant of the sample data (test/lake/fixtures/sample.ts) unless a test names another. */
export const TENANT = 'default';

/** Runs one query on a fresh snapshot of one tenant's lake and returns rows as objects. */
export async function lakeRows(lakeRoot: Lake, sql: string, tenant = TENANT): Promise<Record<string, unknown>[]> {
  const q = await openLakeQuery(lakeRoot, { tenant });
  try {
    const r = await q.run(sql);
    return r.rows.map((row) => Object.fromEntries(r.columns.map((c, i) => [c, row[i]])));
  } finally {
    await q.close();
  }
}

export async function countRows(lakeRoot: Lake, view: string, tenant = TENANT): Promise<number> {
  const [row] = await lakeRows(lakeRoot, `SELECT count(*) AS n FROM ${view}`, tenant);
  return Number(row!.n);
}

/** Every report in the lake, rebuilt as the AcceptedReport the stream carried (ms timestamps read exactly). */
export async function reportsInLake(lakeRoot: Lake): Promise<AcceptedReport[]> {
  const rows = await lakeRows(lakeRoot, `SELECT report_id, drone_id, timestamp_text, epoch_ms(ts) AS ts, epoch_ms(received_at) AS received_at,
    tenant, lat, lon, citizens, words FROM reports ORDER BY report_id`);
  return rows.map((r) => ({
    reportId: r.report_id as string,
    droneId: r.drone_id as string,
    timestamp: r.timestamp_text as string,
    position: { lat: r.lat as number, lon: r.lon as number },
    citizens: r.citizens as AcceptedReport['citizens'],
    words: r.words as string[],
    ts: r.ts as number,
    receivedAt: r.received_at as number,
    tenant: r.tenant as string,
  }));
}

const ms = (v: unknown): number | null => (v === null ? null : (v as number));

/** Every alert event in the lake, rebuilt as the AlertEvent the stream carried. */
export async function alertEventsInLake(lakeRoot: Lake): Promise<AlertEvent[]> {
  const rows = await lakeRows(lakeRoot, `SELECT event_id, "type", epoch_ms("at") AS at_ms, "by", alert_id, tenant, drone_id, citizen, score, severity, rule,
    lat, lon, words, first_report_id, last_report_id, epoch_ms(first_seen_ts) AS first_seen, epoch_ms(last_seen_ts) AS last_seen,
    epoch_ms(raised_at) AS raised, epoch_ms(updated_at) AS updated, occurrences, status, assignee, acknowledged_by,
    epoch_ms(acknowledged_at) AS acknowledged, resolved_by, epoch_ms(resolved_at) AS resolved, note, rule_version, silence_id
    FROM alert_events ORDER BY event_id`);
  return rows.map((r) => ({
    eventId: r.event_id as string,
    type: r.type as AlertEvent['type'],
    at: r.at_ms as number,
    by: r.by as string | null,
    alert: {
      alertId: r.alert_id as string, tenant: r.tenant as string, droneId: r.drone_id as string, citizen: r.citizen as string,
      score: r.score as number, severity: r.severity as AlertEvent['alert']['severity'], rule: r.rule as string,
      position: { lat: r.lat as number, lon: r.lon as number }, words: r.words as string[],
      firstReportId: r.first_report_id as string, lastReportId: r.last_report_id as string,
      firstSeenTs: r.first_seen as number, lastSeenTs: r.last_seen as number, raisedAt: r.raised as number, updatedAt: r.updated as number,
      occurrences: r.occurrences as number, status: r.status as AlertEvent['alert']['status'], assignee: r.assignee as string | null,
      acknowledgedBy: r.acknowledged_by as string | null, acknowledgedAt: ms(r.acknowledged), resolvedBy: r.resolved_by as string | null,
      resolvedAt: ms(r.resolved), note: r.note as string | null,
      // Absent from the event when NULL (an alert from before rules were data, not silenced, or an older file).
      ...(r.rule_version === null ? {} : { ruleVersion: r.rule_version as number }),
      ...(r.silence_id === null ? {} : { silenced: r.silence_id as string }),
    },
  }));
}

export function byId<T>(items: readonly T[], id: (t: T) => string): T[] {
  return [...items].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
}
