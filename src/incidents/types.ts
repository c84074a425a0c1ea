import type { Severity } from '../alerts/types.ts';

/**
 * `merged`: absorbed into another incident (`mergedInto`) when an alert linked the two; it no longer changes.
 * `resolved`: closed by an officer; a later alert nearby opens a new incident.
 */
export type IncidentStatus = 'open' | 'acknowledged' | 'resolved' | 'merged';

/** One alert of an incident, as the incident last saw it (the alert's latest sighting). */
export interface IncidentMember {
  alertId: string;
  citizen: string;
  droneId: string;
  lat: number;
  lon: number;
  score: number;
  severity: Severity;
  /** Report times (epoch ms) of the alert's first and latest sightings. */
  firstSeenTs: number;
  lastSeenTs: number;
}

/** Is the incident growing or spreading, measured at its latest activity over `incidents.growthWindowMinutes`. */
export interface IncidentGrowth {
  /** Distinct citizens first seen within the growth window, per minute. */
  citizensPerMinute: number;
  /** Radius now minus the radius of the citizens already there when the window began (metres; 0 when younger). */
  radiusGrowthM: number;
  /** The area grew by at least half the grouping radius within the window. */
  spreading: boolean;
}

/** Several citizens of concern gathering in one place: the alerts close in space and time, grouped. */
export interface Incident {
  /** Deterministic: derived from the tenant and the alert that opened it, so a replay opens the same incident. */
  incidentId: string;
  tenant: string;
  status: IncidentStatus;
  severity: Severity;
  /** Mean of the distinct citizens' latest positions. */
  centroid: { lat: number; lon: number };
  /** [minLat, minLon, maxLat, maxLon] of every position its alerts were seen at. */
  bbox: [number, number, number, number];
  /** Largest distance from the centroid to a citizen's latest position, metres. */
  radiusM: number;
  /** Report times (epoch ms) of its first and latest sighting. */
  firstAt: number;
  lastAt: number;
  /** Distinct citizens (one citizen seen by several drones counts once), drones and alerts. */
  citizenCount: number;
  droneCount: number;
  alertCount: number;
  lowestScore: number;
  growing: boolean;
  growth: IncidentGrowth;
  /** Wall clock when the platform opened it and last changed it (reaction times count from openedAt). */
  openedAt: number;
  updatedAt: number;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  note: string | null;
  mergedInto: string | null;
}

export type TimelineType = 'opened' | 'alert-joined' | 'severity-raised' | 'growing' | 'absorbed' | 'merged-into'
  | 'acknowledged' | 'assigned' | 'resolved';

export interface TimelineEntry {
  /** Report time for what the drones saw (deterministic on replay); wall clock for officers' actions. */
  at: number;
  type: TimelineType;
  /** Officer for lifecycle entries; null for the system. */
  by: string | null;
  alertId?: string;
  citizen?: string;
  /** The other incident of a merge; the severity reached; the assignee. */
  detail?: string;
}

/** What each backend stores per incident. */
export interface IncidentRecord {
  incident: Incident;
  /** Sorted by alertId (a stable serialisation: replaying an alert writes byte-identical records). */
  members: IncidentMember[];
  /** Oldest first, at most MAX_TIMELINE entries (the oldest dropped, `opened` kept). */
  timeline: TimelineEntry[];
  /** Counts changes; lifecycle event ids derive from it. */
  version: number;
}

export type IncidentEventType = 'opened' | 'updated' | 'merged' | 'acknowledged' | 'assigned' | 'resolved';

/** What the live feed carries (SSE `event: incident.<type>`). */
export interface IncidentEvent {
  /** Deterministic: incident id, type and version. */
  eventId: string;
  type: IncidentEventType;
  at: number;
  by: string | null;
  incident: Incident;
}
