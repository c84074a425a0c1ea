import type { Alert, AlertEvent, Severity } from '../../src/alerts/types.ts';
import { alertIdOf, eventIdOf } from '../../src/alerts/ids.ts';
import type { GroupingConfig } from '../../src/incidents/config.ts';

export const GROUPING: GroupingConfig = { radiusM: 300, windowMs: 5 * 60_000, growthWindowMs: 5 * 60_000, growingCitizensPerMinute: 0.4, criticalCitizens: 5 };
export const T0 = 1_750_000_000_000;
export const MIN = 60_000;

/** Metres north/east of a point, in degrees (near Paris). */
export function offset(lat: number, lon: number, northM: number, eastM: number): { lat: number; lon: number } {
  return { lat: lat + northM / 111_195, lon: lon + eastM / (111_195 * Math.cos((lat * Math.PI) / 180)) };
}

export const PLACE_A = { lat: 48.8566, lon: 2.3522 };
export const PLACE_B = offset(PLACE_A.lat, PLACE_A.lon, 0, 2000);

let n = 0;
/**
 * An alert event as the alert state gives it: `raised` for a new (drone, citizen) alert, `updated` (same alert id) when
 * `alertOf` names an earlier one.
 */
export function alertEvent(tenant: string, o: {
  citizen: string; drone?: string; ts: number; at: { lat: number; lon: number }; score?: number; severity?: Severity; first?: AlertEvent;
}): AlertEvent {
  const reportId = `r${++n}-${o.ts}`;
  const first = o.first?.alert;
  const alert: Alert = {
    alertId: first?.alertId ?? alertIdOf(tenant, reportId, o.citizen), tenant, droneId: o.drone ?? 'drone-1', citizen: o.citizen,
    score: Math.min(o.score ?? 10, first?.score ?? 100), severity: o.severity ?? 'warning', rule: 'score-below-threshold',
    position: { lat: o.at.lat, lon: o.at.lon }, words: [], firstReportId: first?.firstReportId ?? reportId, lastReportId: reportId,
    firstSeenTs: first?.firstSeenTs ?? o.ts, lastSeenTs: o.ts, raisedAt: o.ts, updatedAt: o.ts, occurrences: (first?.occurrences ?? 0) + 1,
    status: 'open', assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null,
  };
  const type = first ? 'updated' : 'raised';
  return { eventId: eventIdOf(alert.alertId, type, reportId), type, at: o.ts, by: null, alert };
}
