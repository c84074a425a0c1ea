/**
 * What the components call: one small function per event, so that a hook in a component is one line and knows
 * nothing of prom-client. Every label is derived here from values that hold no personal data.
 */
import { parseDataKey } from '../lake/layout.ts';
import {
  alertLatency, alertsRaised, archiveBatches, archiveBytes, archiveRows, lakeFilesWritten, queryDuration, queryEngineExits,
  reportsAccepted, reportsDuplicate, reportsRejected,
} from './definitions.ts';

const SOURCES = new Set(['http', 'mqtt', 'simulator']);

/** `http:10.0.0.7`, `mqtt:drone-7`, `simulator` -> the kind of source only (never the address or the drone). */
function sourceKind(source: string): string {
  const kind = source.split(':', 1)[0]!;
  return SOURCES.has(kind) ? kind : 'other';
}

/** One ingestion call: its accepted reports (with the duplicates among them) and the code of each rejected one. */
export function recordIngest(tenant: string, source: string, accepted: readonly { duplicate: boolean }[], rejected: readonly { code: string }[]): void {
  const labels = { tenant, source: sourceKind(source) };
  if (accepted.length > 0) {
    reportsAccepted.inc(labels, accepted.length);
    let dup = 0;
    for (const a of accepted) if (a.duplicate) dup++;
    if (dup > 0) reportsDuplicate.inc(labels, dup);
  }
  for (const r of rejected) reportsRejected.inc({ ...labels, code: r.code });
}

/** The events an alert worker announced, with the append time of the report behind each (for the latency). */
export function recordAlertEvents(
  events: readonly { type: string; alert: { tenant: string; severity: string; lastReportId: string } }[],
  appendedAt: ReadonlyMap<string, number>,
  now = Date.now(),
): void {
  for (const e of events) {
    if (e.type === 'raised') alertsRaised.inc({ tenant: e.alert.tenant, severity: e.alert.severity });
    if (e.type !== 'raised' && e.type !== 'updated') continue;
    const at = appendedAt.get(e.alert.lastReportId);
    if (at !== undefined) alertLatency.observe({ tenant: e.alert.tenant }, Math.max(0, now - at) / 1000);
  }
}

/** A batch the archive committed: its files as lake keys (`reports/tenant=x/...`) with their rows and bytes. */
export interface ArchiveBatchMetrics {
  table: string;
  files: { key: string; rows: number; bytes: number }[];
}

let archiveSink: (b: ArchiveBatchMetrics) => void = countArchiveBatch;

function countArchiveBatch(b: ArchiveBatchMetrics): void {
  archiveBatches.inc({ table: b.table });
  for (const f of b.files) {
    const key = parseDataKey(f.key);
    if (!key) continue; // rejected records (`_rejected/`) are not lake data
    const labels = { table: b.table, tenant: key.tenant };
    lakeFilesWritten.inc(labels);
    archiveRows.inc(labels, f.rows);
    archiveBytes.inc(labels, f.bytes);
  }
}

export function recordArchiveBatch(b: ArchiveBatchMetrics): void {
  archiveSink(b);
}

/**
 * An archive worker thread (`up`) sends its batches to the main thread, whose registry /metrics renders: the thread
 * calls this with a function posting to its parent, and the parent calls recordArchiveBatch with what it receives.
 */
export function forwardArchiveBatches(to: (b: ArchiveBatchMetrics) => void): void {
  archiveSink = to;
}

/** Starts timing an analysis query; the returned function (called once, when its connection is released) records it. */
export function startQueryTimer(tenant: string, kind: 'query' | 'stat' | 'export'): () => void {
  const end = queryDuration.startTimer({ tenant, kind });
  let done = false;
  return () => {
    if (done) return;
    done = true;
    end();
  };
}

/** Why a query-engine process ended (dronewatch_query_engine_exits_total). */
export type EngineExitReason = 'out_of_memory' | 'killed' | 'died' | 'start_failed' | 'stopped';

export function recordEngineExit(tenant: string, reason: EngineExitReason): void {
  queryEngineExits.inc({ tenant, reason });
}
