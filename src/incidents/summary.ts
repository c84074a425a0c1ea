import type { Severity } from '../alerts/types.ts';
import type { GroupingConfig } from './config.ts';
import { distanceM } from './geo.ts';
import type { Incident, IncidentGrowth, IncidentMember } from './types.ts';

const RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };
export const severityRank = (s: Severity): number => RANK[s];

type Derived = Pick<Incident, 'severity' | 'centroid' | 'bbox' | 'radiusM' | 'firstAt' | 'lastAt' | 'citizenCount'
  | 'droneCount' | 'alertCount' | 'lowestScore' | 'growing' | 'growth'>;

/**
 * Everything an incident shows that follows from its members, computed from them alone (never from the clock), so the
 * same members always give the same incident: what makes a replayed alert change nothing.
 *
 * Severity: the highest of its alerts'; a gathering (2 citizens or more) is at least `warning`, and `critical` from
 * `criticalCitizens` citizens. A lone alert is its own incident with its alert's severity.
 */
export function derive(members: readonly IncidentMember[], bboxBefore: Incident['bbox'] | undefined, cfg: GroupingConfig): Derived {
  const latest = latestPerCitizen(members);
  const drones = new Set<string>();
  let severity: Severity = 'info';
  let lowestScore = Infinity;
  let firstAt = Infinity;
  let lastAt = -Infinity;
  let [minLat, minLon, maxLat, maxLon] = bboxBefore ?? [Infinity, Infinity, -Infinity, -Infinity];
  for (const m of members) {
    drones.add(m.droneId);
    if (RANK[m.severity] > RANK[severity]) severity = m.severity;
    if (m.score < lowestScore) lowestScore = m.score;
    if (m.firstSeenTs < firstAt) firstAt = m.firstSeenTs;
    if (m.lastSeenTs > lastAt) lastAt = m.lastSeenTs;
    // The extent only grows: it covers every position seen, including the ones a member has since moved from.
    if (m.lat < minLat) minLat = m.lat;
    if (m.lat > maxLat) maxLat = m.lat;
    if (m.lon < minLon) minLon = m.lon;
    if (m.lon > maxLon) maxLon = m.lon;
  }
  const citizens = latest.size;
  if (citizens >= cfg.criticalCitizens) severity = 'critical';
  else if (citizens >= 2 && RANK[severity] < RANK.warning) severity = 'warning';
  const positions = [...latest.values()];
  // Where it is now: the citizens seen within the grouping window of its latest sighting, so that the centroid of a
  // marching crowd follows it instead of lagging behind with the positions of people not seen again.
  const current = positions.filter((p) => p.lastSeenTs >= lastAt - cfg.windowMs);
  const { centroid, radiusM } = spread(current.length > 0 ? current : positions);
  const growth = growthOf(positions, lastAt, cfg);
  return {
    severity, centroid, radiusM, bbox: [minLat, minLon, maxLat, maxLon], firstAt, lastAt, citizenCount: citizens,
    droneCount: drones.size, alertCount: members.length, lowestScore, growth,
    growing: growth.citizensPerMinute >= cfg.growingCitizensPerMinute || growth.spreading,
  };
}

interface CitizenPosition { lat: number; lon: number; firstSeenTs: number; lastSeenTs: number }

/** Per citizen: the latest position any drone saw it at, and when any drone first saw it (within this incident). */
function latestPerCitizen(members: readonly IncidentMember[]): Map<string, CitizenPosition> {
  const out = new Map<string, CitizenPosition>();
  for (const m of members) {
    const cur = out.get(m.citizen);
    if (!cur) {
      out.set(m.citizen, { lat: m.lat, lon: m.lon, firstSeenTs: m.firstSeenTs, lastSeenTs: m.lastSeenTs });
      continue;
    }
    if (m.firstSeenTs < cur.firstSeenTs) cur.firstSeenTs = m.firstSeenTs;
    // Ties broken by position so the result does not depend on the members' order.
    if (m.lastSeenTs > cur.lastSeenTs || (m.lastSeenTs === cur.lastSeenTs && (m.lat < cur.lat || (m.lat === cur.lat && m.lon < cur.lon)))) {
      cur.lat = m.lat;
      cur.lon = m.lon;
      cur.lastSeenTs = m.lastSeenTs;
    }
  }
  return out;
}

function spread(positions: readonly { lat: number; lon: number }[]): { centroid: { lat: number; lon: number }; radiusM: number } {
  if (positions.length === 0) return { centroid: { lat: 0, lon: 0 }, radiusM: 0 };
  let lat = 0;
  let lon = 0;
  for (const p of positions) {
    lat += p.lat;
    lon += p.lon;
  }
  const centroid = { lat: lat / positions.length, lon: lon / positions.length };
  let radiusM = 0;
  for (const p of positions) radiusM = Math.max(radiusM, distanceM(centroid, p));
  return { centroid, radiusM: Math.round(radiusM * 10) / 10 };
}

/**
 * New citizens per minute and area growth over the growth window ending at the incident's latest sighting: measured
 * on report time, so the figure is the same on a replay and in a 60x simulation.
 */
function growthOf(positions: readonly CitizenPosition[], lastAt: number, cfg: GroupingConfig): IncidentGrowth {
  const start = lastAt - cfg.growthWindowMs;
  const before = positions.filter((p) => p.firstSeenTs <= start);
  const fresh = positions.length - before.length;
  const radiusGrowthM = before.length === 0 ? 0 : Math.max(0, spread(positions).radiusM - spread(before).radiusM);
  return {
    citizensPerMinute: Math.round((fresh / (cfg.growthWindowMs / 60_000)) * 100) / 100,
    radiusGrowthM: Math.round(radiusGrowthM * 10) / 10,
    spreading: radiusGrowthM >= cfg.radiusM / 2,
  };
}
