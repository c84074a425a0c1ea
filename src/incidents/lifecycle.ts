import { IncidentTransitionError } from './errors.ts';
import { appendTimeline, eventOf } from './grouping.ts';
import type { Incident, IncidentEvent, IncidentRecord } from './types.ts';

export type IncidentAction =
  | { action: 'acknowledge'; note?: string | undefined }
  | { action: 'assign'; assignee: string }
  | { action: 'resolve'; note?: string | undefined };

/**
 * An officer's change to an incident, as a new record (version + 1) and its event. Mirrors the alert lifecycle
 * (src/alerts/sighting.ts): open -> acknowledged -> resolved, assign while not resolved; a merged incident is changed
 * through the incident it was merged into.
 */
export function applyAction(rec: IncidentRecord, a: IncidentAction, by: string, now: number): { record: IncidentRecord; event: IncidentEvent } {
  const cur = rec.incident;
  const refuse = (): never => {
    throw new IncidentTransitionError(cur.incidentId, cur.status, a.action);
  };
  let incident: Incident;
  let type: IncidentEvent['type'];
  switch (a.action) {
    case 'acknowledge':
      if (cur.status !== 'open') refuse();
      incident = { ...cur, status: 'acknowledged', acknowledgedBy: by, acknowledgedAt: now, note: a.note ?? cur.note };
      type = 'acknowledged';
      break;
    case 'assign':
      if (cur.status !== 'open' && cur.status !== 'acknowledged') refuse();
      incident = { ...cur, assignee: a.assignee };
      type = 'assigned';
      break;
    case 'resolve':
      if (cur.status !== 'open' && cur.status !== 'acknowledged') refuse();
      incident = { ...cur, status: 'resolved', resolvedBy: by, resolvedAt: now, note: a.note ?? cur.note };
      type = 'resolved';
      break;
  }
  incident = { ...incident, updatedAt: now };
  const version = rec.version + 1;
  const timeline = appendTimeline(rec.timeline, {
    at: now, type, by, ...(a.action === 'assign' ? { detail: a.assignee } : a.note !== undefined ? { detail: a.note } : {}),
  });
  return { record: { incident, members: rec.members, timeline, version }, event: eventOf(incident, type, version, now, by) };
}
