import type { Alert } from '../alerts/types.ts';
import type { GroupingConfig } from './config.ts';
import { distanceM } from './geo.ts';
import { incidentEventIdOf, incidentIdOf } from './ids.ts';
import { derive, severityRank } from './summary.ts';
import type { Incident, IncidentEvent, IncidentMember, IncidentRecord, TimelineEntry } from './types.ts';

/** What the grouping reads: the incident holding an alert, and the live incidents whose centroid is near a point. */
export interface IncidentLookup {
  /** The incident (not merged away) that holds this alert, if any. */
  holding(tenant: string, alertId: string): IncidentRecord | undefined;
  /**
   * Open or acknowledged incidents of the tenant whose centroid's grid cell is around the point (a superset: filtered
   * here). `active`, when the lookup can use it: only those with lastAt >= lastAtFrom and firstAt <= firstAtTo, the
   * time part of the reach test, so a store does not decode incidents the sighting cannot join.
   */
  near(tenant: string, lat: number, lon: number, active?: ActiveWindow): readonly IncidentRecord[];
}

/** The activity an incident needs to be within reach of a sighting (see withinReach). */
export interface ActiveWindow {
  lastAtFrom: number;
  firstAtTo: number;
}

/** Records to write (each at `version`, which the backend checks against the version it holds, `version - 1`) and their events. */
export interface GroupingPlan {
  writes: IncidentRecord[];
  events: IncidentEvent[];
}

export const MAX_TIMELINE = 500;
const EMPTY: GroupingPlan = Object.freeze({ writes: [], events: [] }) as GroupingPlan;

/**
 * Where one alert (its state after a `raised` or `updated` event) goes. Rules (docs/incidents.md):
 * - an alert already in an incident updates its member there (unless the incident is resolved: it stays closed);
 * - otherwise it joins the live incident (open or acknowledged) whose centroid is within `radiusM` and whose activity
 *   is within `windowMs` of the sighting; none: it opens its own incident (a lone alert is an incident, so nothing is
 *   hidden; a gathering is 2 citizens or more);
 * - when the alert is within reach of several live incidents, they are merged into the oldest (earliest firstAt, then
 *   lowest id): its members become the oldest's, the others become `merged` with `mergedInto`.
 * The plan depends only on the alert and the records read, never on the clock's order of events, except `now`
 * for openedAt/updatedAt: applying the same alert again to what it produced plans nothing (exactly once).
 */
export function planAlert(lookup: IncidentLookup, alert: Alert, cfg: GroupingConfig, now: number): GroupingPlan {
  const member = memberOf(alert);
  const held = lookup.holding(alert.tenant, alert.alertId);
  if (held && (held.incident.status === 'resolved' || held.incident.status === 'merged')) return EMPTY;
  const active = { lastAtFrom: member.lastSeenTs - cfg.windowMs, firstAtTo: member.lastSeenTs + cfg.windowMs };
  const reach = lookup.near(alert.tenant, alert.position.lat, alert.position.lon, active).filter((r) =>
    r.incident.incidentId !== held?.incident.incidentId && live(r.incident) && withinReach(r, member, cfg));
  const group = held ? [held, ...reach] : reach;
  if (group.length === 0) return openIncident(alert, member, cfg, now);
  group.sort(olderFirst);
  const [survivor, ...absorbed] = group as [IncidentRecord, ...IncidentRecord[]];
  const writes: IncidentRecord[] = [];
  const events: IncidentEvent[] = [];
  let members = survivor.members;
  let timeline = survivor.timeline;
  let bbox: Incident['bbox'] | undefined = survivor.incident.bbox;
  for (const a of absorbed) {
    members = unionMembers(members, a.members);
    bbox = unionBbox(bbox, a.incident.bbox);
    timeline = appendTimeline(timeline, { at: member.lastSeenTs, type: 'absorbed', by: null, detail: a.incident.incidentId });
    const version = a.version + 1;
    const merged: Incident = { ...a.incident, status: 'merged', mergedInto: survivor.incident.incidentId, updatedAt: now };
    writes.push({ incident: merged, members: a.members, version,
      timeline: appendTimeline(a.timeline, { at: member.lastSeenTs, type: 'merged-into', by: null, detail: survivor.incident.incidentId }) });
    events.push(eventOf(merged, 'merged', version, now));
  }
  const isNew = !members.some((m) => m.alertId === member.alertId);
  members = upsertMember(members, member);
  if (isNew) timeline = appendTimeline(timeline, { at: member.lastSeenTs, type: 'alert-joined', by: null, alertId: member.alertId, citizen: member.citizen });
  const d = derive(members, bbox, cfg);
  const before = survivor.incident;
  if (severityRank(d.severity) > severityRank(before.severity)) {
    timeline = appendTimeline(timeline, { at: member.lastSeenTs, type: 'severity-raised', by: null, detail: d.severity });
  }
  if (d.growing && !before.growing) timeline = appendTimeline(timeline, { at: member.lastSeenTs, type: 'growing', by: null });
  const next: Incident = { ...before, ...d };
  if (absorbed.length === 0 && sameRecord(survivor, next, members, timeline)) return EMPTY;
  const version = survivor.version + 1;
  const incident = { ...next, updatedAt: now };
  writes.unshift({ incident, members, timeline, version });
  events.unshift(eventOf(incident, 'updated', version, now));
  return { writes, events };
}

function openIncident(alert: Alert, member: IncidentMember, cfg: GroupingConfig, now: number): GroupingPlan {
  const members = [member];
  const incident: Incident = {
    incidentId: incidentIdOf(alert.tenant, alert.alertId), tenant: alert.tenant, status: 'open', ...derive(members, undefined, cfg),
    openedAt: now, updatedAt: now, assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null,
    note: null, mergedInto: null,
  };
  const timeline: TimelineEntry[] = [
    { at: member.firstSeenTs, type: 'opened', by: null, alertId: member.alertId, citizen: member.citizen },
  ];
  return { writes: [{ incident, members, timeline, version: 1 }], events: [eventOf(incident, 'opened', 1, now)] };
}

export function eventOf(incident: Incident, type: IncidentEvent['type'], version: number, at: number, by: string | null = null): IncidentEvent {
  return { eventId: incidentEventIdOf(incident.incidentId, type, version), type, at, by, incident };
}

export function live(i: Incident): boolean {
  return i.status === 'open' || i.status === 'acknowledged';
}

/**
 * In reach: seen within the window of the incident's activity, and within the radius of its centroid, or (at most
 * twice the radius from it) within half the radius of one of its citizens seen within the window: a crowd on the
 * move is met first at its edge.
 */
function withinReach(r: IncidentRecord, m: IncidentMember, cfg: GroupingConfig): boolean {
  const i = r.incident;
  if (m.lastSeenTs > i.lastAt + cfg.windowMs || m.lastSeenTs < i.firstAt - cfg.windowMs) return false;
  const d = distanceM(i.centroid, m);
  if (d <= cfg.radiusM) return true;
  if (d > 2 * cfg.radiusM) return false;
  return r.members.some((x) => Math.abs(x.lastSeenTs - m.lastSeenTs) <= cfg.windowMs && distanceM(x, m) <= cfg.radiusM / 2);
}

function olderFirst(a: IncidentRecord, b: IncidentRecord): number {
  return a.incident.firstAt - b.incident.firstAt || (a.incident.incidentId < b.incident.incidentId ? -1 : a.incident.incidentId > b.incident.incidentId ? 1 : 0);
}

function memberOf(a: Alert): IncidentMember {
  return {
    alertId: a.alertId, citizen: a.citizen, droneId: a.droneId, lat: a.position.lat, lon: a.position.lon, score: a.score,
    severity: a.severity, firstSeenTs: a.firstSeenTs, lastSeenTs: a.lastSeenTs,
  };
}

/** The order of a record's members (IncidentRecord.members): by alert id, in UTF-16 code units (JavaScript's `<`). */
export function byAlertId(a: IncidentMember, b: IncidentMember): number {
  return a.alertId < b.alertId ? -1 : a.alertId > b.alertId ? 1 : 0;
}

/** Adds or updates a member, keeping the members sorted by alert id (byAlertId); an older state of the alert never replaces a newer. */
function upsertMember(members: readonly IncidentMember[], m: IncidentMember): IncidentMember[] {
  const i = members.findIndex((x) => x.alertId === m.alertId);
  if (i >= 0) {
    const cur = members[i]!;
    if (m.lastSeenTs < cur.lastSeenTs) return members.slice();
    const next = members.slice();
    // The lowest score and the highest severity stay: an alert's score only goes down (mergeSighting).
    next[i] = { ...m, score: Math.min(m.score, cur.score), severity: severityRank(cur.severity) > severityRank(m.severity) ? cur.severity : m.severity };
    return next;
  }
  // Inserted at its place (the list is sorted): a sort of the whole list per alert was O(n log n) in a riot.
  let lo = 0;
  let hi = members.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byAlertId(members[mid]!, m) < 0) lo = mid + 1;
    else hi = mid;
  }
  const next = members.slice(0, lo);
  next.push(m);
  for (let k = lo; k < members.length; k++) next.push(members[k]!);
  return next;
}

function unionMembers(a: readonly IncidentMember[], b: readonly IncidentMember[]): IncidentMember[] {
  let out = a.slice();
  for (const m of b) out = upsertMember(out, m);
  return out;
}

function unionBbox(a: Incident['bbox'] | undefined, b: Incident['bbox']): Incident['bbox'] {
  if (!a) return b;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

export function appendTimeline(t: readonly TimelineEntry[], e: TimelineEntry): TimelineEntry[] {
  const next = [...t, e];
  // Keep `opened` (the first entry) and the newest.
  return next.length > MAX_TIMELINE ? [next[0]!, ...next.slice(next.length - MAX_TIMELINE + 1)] : next;
}

/**
 * Whether the plan changes nothing. Members compare one by one, by reference first: upsertMember copies the array but
 * keeps every member it does not change, so only a changed one is serialised. Comparing the whole list's JSON cost a
 * quarter of a riot's grouping (3,000 alerts at one place: ~O(members) of JSON twice an alert).
 */
function sameRecord(r: IncidentRecord, next: Incident, members: readonly IncidentMember[], timeline: readonly TimelineEntry[]): boolean {
  if (timeline.length !== r.timeline.length || members.length !== r.members.length) return false;
  for (let i = 0; i < members.length; i++) {
    const a = members[i]!;
    const b = r.members[i]!;
    if (a !== b && JSON.stringify(a) !== JSON.stringify(b)) return false;
  }
  return JSON.stringify(next) === JSON.stringify(r.incident);
}
