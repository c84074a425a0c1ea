import type { Severity } from '../../src/alerts/types.ts';
import { incidentEventIdOf, incidentIdOf } from '../../src/incidents/ids.ts';
import type { Incident, IncidentEvent } from '../../src/incidents/types.ts';
import { mulberry32 } from '../lake/fixtures/sample.ts';

/** The incident statistics (src/analysis/stats/incident*.sql): stats.test.ts lists them beside its own. */
export const INCIDENT_STATS = ['incident-ack-time', 'incident-areas', 'incident-growth', 'incidents-daily'] as const;

const MIN = 60_000;

/**
 * Incident events with a known shape, as the alert worker and officers publish them (src/incidents/publish.ts): each
 * incident opened, then updated as citizens join and the area spreads, some acknowledged (then still growing), some
 * resolved (a few without an acknowledgement), some merged into another. Event times (wall clock) strictly increase
 * per incident; one incident in six was opened from a replayed report (first sighting ~21 h before it was opened, on
 * another day); the first one sits on a cell line of the 0.005 grid (48.87, 2.385).
 */
export function makeIncidentEvents(o: { seed: number; start: number; incidents: number; tenant: string }): IncidentEvent[] {
  const rand = mulberry32(o.seed);
  const events: IncidentEvent[] = [];
  const ids: string[] = [];
  for (let k = 0; k < o.incidents; k++) {
    const openedAt = o.start + Math.floor(rand() * 2 * 24 * 60) * MIN + Math.floor(rand() * MIN);
    const firstAt = k % 6 === 3 ? openedAt - 21 * 3_600_000 - Math.floor(rand() * 3_600_000) : openedAt - 200 - Math.floor(rand() * 5_000);
    const centroid = k === 0 ? { lat: 48.87, lon: 2.385 }
      : { lat: Math.round((48.84 + rand() * 0.04) * 1e6) / 1e6, lon: Math.round((2.3 + rand() * 0.06) * 1e6) / 1e6 };
    const startSeverity: Severity = rand() < 0.2 ? 'critical' : rand() < 0.5 ? 'info' : 'warning';
    const id = incidentIdOf(o.tenant, `alert-${o.seed}-${k}`);
    ids.push(id);
    let inc: Incident = {
      incidentId: id, tenant: o.tenant, status: 'open', severity: startSeverity, centroid,
      bbox: [centroid.lat, centroid.lon, centroid.lat, centroid.lon], radiusM: 0, firstAt, lastAt: firstAt,
      citizenCount: 1, droneCount: 1, alertCount: 1, lowestScore: Math.round(rand() * 190) / 10, growing: false,
      growth: { citizensPerMinute: 0, radiusGrowthM: 0, spreading: false }, openedAt, updatedAt: openedAt,
      assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null, mergedInto: null,
    };
    let version = 1;
    let at = openedAt;
    const push = (type: IncidentEvent['type'], by: string | null = null): void => {
      inc = { ...inc, updatedAt: at };
      events.push({ eventId: incidentEventIdOf(id, type, version), type, at, by, incident: { ...inc, centroid: { ...inc.centroid }, bbox: [...inc.bbox], growth: { ...inc.growth } } });
    };
    push('opened');
    const updates = Math.floor(rand() * 6);
    const ackAfter = rand() < 0.65 ? Math.floor(rand() * (updates + 1)) : -1;
    for (let u = 0; u <= updates; u++) {
      if (u === ackAfter) {
        at += 1_000 + Math.floor(rand() * 600_000);
        version++;
        inc = { ...inc, status: 'acknowledged', acknowledgedBy: 'officer-1', acknowledgedAt: at };
        push('acknowledged', 'officer-1');
      }
      if (u === updates) break;
      const joined = Math.floor(rand() * 3);
      const spread = Math.round(rand() * 250 * 10) / 10;
      at += 1_000 + Math.floor(rand() * 240_000);
      version++;
      const citizens = inc.citizenCount + joined;
      const severity: Severity = citizens >= 5 ? 'critical' : citizens >= 2 && inc.severity === 'info' ? 'warning' : inc.severity;
      inc = {
        ...inc, citizenCount: citizens, alertCount: inc.alertCount + joined + 1, droneCount: Math.min(4, inc.droneCount + (joined > 0 ? 1 : 0)),
        severity, radiusM: Math.round((inc.radiusM + spread) * 10) / 10, lastAt: inc.lastAt + 30_000 + Math.floor(rand() * 120_000),
        growing: joined >= 2 || spread >= 150, growth: { citizensPerMinute: joined / 5, radiusGrowthM: spread, spreading: spread >= 150 },
        bbox: [inc.bbox[0] - 0.001, inc.bbox[1], inc.bbox[2], inc.bbox[3] + 0.001],
      };
      push('updated');
    }
    const end = rand();
    if (end < 0.3) {
      at += 60_000 + Math.floor(rand() * 3_000_000);
      version++;
      inc = { ...inc, status: 'resolved', resolvedBy: 'officer-2', resolvedAt: at };
      push('resolved', 'officer-2');
    } else if (end < 0.42 && k > 0) {
      at += 1_000 + Math.floor(rand() * 60_000);
      version++;
      inc = { ...inc, status: 'merged', mergedInto: ids[Math.floor(rand() * k)]! };
      push('merged');
    }
  }
  return events;
}

/** Each incident's latest state (its last event: times strictly increase per incident). */
export function latestIncidents(events: readonly IncidentEvent[]): Incident[] {
  const m = new Map<string, Incident>();
  for (const e of events) m.set(e.incident.incidentId, e.incident);
  return [...m.values()];
}
