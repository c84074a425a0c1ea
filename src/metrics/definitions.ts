import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from './registry.ts';

/**
 * Every dronewatch metric, in one place (docs/operations.md lists them). Labels are bounded and carry no personal
 * data: tenant ids, error codes, route patterns (never a URL with its values), table, topic, group and partition.
 * Never a citizen's name, a drone's position, SQL text or an officer's name.
 */
const registers = [registry];

export const reportsAccepted = new Counter({
  name: 'dronewatch_reports_accepted_total',
  help: 'Reports accepted by ingestion (appended to the stream), by tenant and source (http, mqtt, simulator)',
  labelNames: ['tenant', 'source'] as const, registers,
});

export const reportsDuplicate = new Counter({
  name: 'dronewatch_reports_duplicate_total',
  help: 'Accepted reports that were a resend of one already in the stream (acknowledged, not stored twice)',
  labelNames: ['tenant', 'source'] as const, registers,
});

export const reportsRejected = new Counter({
  name: 'dronewatch_reports_rejected_total',
  help: 'Reports rejected by ingestion (each one a dead letter), by tenant, source and error code (docs/errors.md)',
  labelNames: ['tenant', 'source', 'code'] as const, registers,
});

export const streamLag = new Gauge({
  name: 'dronewatch_stream_lag_records',
  help: 'Records of a topic partition not yet committed by a consumer group (read on each scrape)',
  labelNames: ['topic', 'group', 'partition'] as const, registers,
});

export const streamUp = new Gauge({
  name: 'dronewatch_stream_up',
  help: '1 when the last lag read on the stream answered within its time limit, 0 otherwise',
  registers,
});

export const alertLatency = new Histogram({
  name: 'dronewatch_alert_latency_seconds',
  help: 'Report appended to the stream -> its alert raised or updated and published to live subscribers',
  labelNames: ['tenant'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  registers,
});

export const alertsRaised = new Counter({
  name: 'dronewatch_alerts_raised_total',
  help: 'Alerts raised by the alert workers of this process, by tenant and severity',
  labelNames: ['tenant', 'severity'] as const, registers,
});

/**
 * Incidents raised. Defined here for the incidents component to increment (`incidentsRaised.inc({ tenant })`), so
 * that its name, help and labels stay with the others.
 */
export const incidentsRaised = new Counter({
  name: 'dronewatch_incidents_raised_total',
  help: 'Incidents raised, by tenant',
  labelNames: ['tenant'] as const, registers,
});

export const archiveBatches = new Counter({
  name: 'dronewatch_archive_batches_total',
  help: 'Batches the archive committed to the lake, by table',
  labelNames: ['table'] as const, registers,
});

export const archiveBytes = new Counter({
  name: 'dronewatch_archive_bytes_total',
  help: 'Bytes of Parquet the archive wrote to the lake, by table and tenant',
  labelNames: ['table', 'tenant'] as const, registers,
});

export const archiveRows = new Counter({
  name: 'dronewatch_archive_rows_total',
  help: 'Rows the archive wrote to the lake, by table and tenant',
  labelNames: ['table', 'tenant'] as const, registers,
});

export const lakeFilesWritten = new Counter({
  name: 'dronewatch_lake_files_written_total',
  help: 'Parquet files the archive added to the lake, by table and tenant (compaction merges them later)',
  labelNames: ['table', 'tenant'] as const, registers,
});

export const queryDuration = new Histogram({
  name: 'dronewatch_query_duration_seconds',
  help: 'Analysis queries from admission to the release of their connection (rows read, error or cancel), by tenant and kind',
  labelNames: ['tenant', 'kind'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  registers,
});

export const queryRefusals = new Counter({
  name: 'dronewatch_query_refusals_total',
  help: 'Analysis requests refused or stopped with a DW_QUERY_* code (too many, timeout, too large, forbidden SQL...)',
  labelNames: ['tenant', 'code'] as const, registers,
});

export const queryEngineExits = new Counter({
  name: 'dronewatch_query_engine_exits_total',
  help: "Query-engine processes that ended, by tenant and reason: out_of_memory (its data limit), killed (a query ignored its time limit or cancel), died (crashed, or killed from outside), start_failed (ended before it was ready), stopped (idle, replaced, or shut down)",
  labelNames: ['tenant', 'reason'] as const, registers,
});

export const authFailures = new Counter({
  name: 'dronewatch_auth_failures_total',
  help: 'HTTP requests refused by authentication or authorisation, by DW_AUTH_* code and tenant (empty: not authenticated)',
  labelNames: ['code', 'tenant'] as const, registers,
});

export const httpRequests = new Counter({
  name: 'dronewatch_http_requests_total',
  help: 'HTTP requests answered, by method, route pattern, status and error code (empty when none)',
  labelNames: ['method', 'route', 'status', 'code'] as const, registers,
});

export const httpDuration = new Histogram({
  name: 'dronewatch_http_request_duration_seconds',
  help: 'HTTP request durations (to the end of the answer: a live feed counts until it ends), by method and route pattern',
  labelNames: ['method', 'route'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  registers,
});

/** Notifications (src/notify/): by tenant and target id (a policy's target id, `webhook-N` for alerts.webhooks; never a URL). */
export const notificationsDelivered = new Counter({
  name: 'dronewatch_notifications_delivered_total',
  help: 'Notifications a webhook target accepted (2xx), by tenant and target id',
  labelNames: ['tenant', 'target'] as const, registers,
});

export const notificationsFailed = new Counter({
  name: 'dronewatch_notifications_failed_total',
  help: 'Notifications given up (a 4xx, attempts exhausted) or dropped unsent (queue full), by tenant and target id',
  labelNames: ['tenant', 'target'] as const, registers,
});

export const notificationsEscalated = new Counter({
  name: 'dronewatch_notifications_escalated_total',
  help: 'Escalation levels sent for alerts still open at their deadline, by tenant',
  labelNames: ['tenant'] as const, registers,
});
