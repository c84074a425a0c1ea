import type { AcceptedReport } from '../contract/types.ts';
import { alertIdOf } from './ids.ts';
import { severityRank, type AlertCandidate } from './rules.ts';
import type { Alert, AlertEventType } from './types.ts';

/**
 * What a sighting and an officer's action do to an alert, independent of where alerts are kept: the SQLite store and
 * the JetStream KV state (kv/) apply the same rules, so embedded and distributed mode raise the same alerts.
 */

/** Whether a sighting at report time `ts` falls in the dedup window of an unresolved alert (docs/alerts.md). */
export function inDedupWindow(a: Alert, ts: number, windowMs: number): boolean {
  return a.status !== 'resolved' && a.lastSeenTs >= ts - windowMs && a.firstSeenTs <= ts + windowMs;
}

/** The alert a sighting opens. */
export function alertFromSighting(report: AcceptedReport, c: AlertCandidate, at: number): Alert {
  return {
    alertId: alertIdOf(report.tenant, report.reportId, c.citizen),
    tenant: report.tenant,
    droneId: report.droneId,
    citizen: c.citizen,
    score: c.score,
    severity: c.severity,
    rule: c.rule,
    ...(c.ruleVersion === undefined ? {} : { ruleVersion: c.ruleVersion }),
    ...(c.silence === undefined ? {} : { silenced: c.silence }),
    position: { lat: report.position.lat, lon: report.position.lon },
    words: report.words.slice(),
    firstReportId: report.reportId,
    lastReportId: report.reportId,
    firstSeenTs: report.ts,
    lastSeenTs: report.ts,
    raisedAt: at,
    updatedAt: at,
    occurrences: 1,
    status: 'open',
    assignee: null,
    acknowledgedBy: null,
    acknowledgedAt: null,
    resolvedBy: null,
    resolvedAt: null,
    note: null,
  };
}

/** An alert after one more sighting in its dedup window. */
export function mergeSighting(alert: Alert, report: AcceptedReport, c: AlertCandidate, at: number): Alert {
  const escalates = severityRank(c.severity) > severityRank(alert.severity);
  const latest = report.ts >= alert.lastSeenTs;
  return {
    ...alert,
    score: Math.min(alert.score, c.score),
    severity: escalates ? c.severity : alert.severity,
    rule: escalates ? c.rule : alert.rule,
    ...(escalates && c.ruleVersion !== undefined ? { ruleVersion: c.ruleVersion } : {}),
    // A late (out-of-order) sighting counts but does not replace the latest position.
    position: latest ? { lat: report.position.lat, lon: report.position.lon } : alert.position,
    words: latest ? report.words.slice() : alert.words,
    lastReportId: latest ? report.reportId : alert.lastReportId,
    lastSeenTs: latest ? report.ts : alert.lastSeenTs,
    firstSeenTs: Math.min(alert.firstSeenTs, report.ts),
    updatedAt: at,
    occurrences: alert.occurrences + 1,
  };
}

export type LifecycleAction = 'acknowledge' | 'assign' | 'resolve';

/** An officer's change: the next state and its event type, or undefined when the alert's status does not allow it. */
export type LifecycleChange = (a: Alert, at: number) => { type: AlertEventType; alert: Alert } | undefined;

/** open -> acknowledged. */
export function acknowledgeChange(by: string, note?: string): LifecycleChange {
  return (a, at) => {
    if (a.status !== 'open') return undefined;
    return { type: 'acknowledged', alert: { ...a, status: 'acknowledged', acknowledgedBy: by, acknowledgedAt: at, note: note ?? a.note } };
  };
}

/** Sets who handles the alert; allowed while it is not resolved (status unchanged). */
export function assignChange(assignee: string): LifecycleChange {
  return (a) => {
    if (a.status === 'resolved') return undefined;
    return { type: 'assigned', alert: { ...a, assignee } };
  };
}

/** open -> resolved, acknowledged -> resolved. A later sighting of the citizen opens a new alert. */
export function resolveChange(by: string, note?: string): LifecycleChange {
  return (a, at) => {
    if (a.status === 'resolved') return undefined;
    return { type: 'resolved', alert: { ...a, status: 'resolved', resolvedBy: by, resolvedAt: at, note: note ?? a.note } };
  };
}
