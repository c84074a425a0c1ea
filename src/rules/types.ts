/**
 * Alert rules as data (issue 19): a tenant's rule set is a list of rules and the zones they refer to. Every change
 * is a new, immutable version (author, time, reason); the alert workers evaluate the newest one, and an alert names
 * the version that raised it.
 */
import type { Severity } from '../alerts/types.ts';
import type { VersionMeta } from '../backend/versioned.ts';

/** GeoJSON geometry of a zone, coordinates `[lon, lat]` as GeoJSON says; rings closed (first point = last point). */
export type ZoneGeometry =
  | { type: 'Polygon'; coordinates: number[][][] }
  | { type: 'MultiPolygon'; coordinates: number[][][][] };

export interface Zone {
  id: string;
  name: string;
  geometry: ZoneGeometry;
}

interface RuleBase {
  /** Unique in the set; what `alert.rule` says when this rule raised an alert. */
  id: string;
  /** A disabled rule stays in the set (and its history) but never fires. */
  enabled: boolean;
}

/** A citizen scoring strictly below `threshold` alerts: `critical` below `criticalThreshold`, else `warning`. */
export interface ScoreRule extends RuleBase {
  kind: 'score';
  threshold: number;
  criticalThreshold: number;
  /** Only reports whose position is inside this zone (a stricter threshold near a site). */
  zone?: string;
}

/** When one of `words` is heard (case-insensitive), a citizen strictly below `threshold` alerts with `severity`. */
export interface WordRule extends RuleBase {
  kind: 'words';
  words: string[];
  threshold: number;
  severity: Severity;
  zone?: string;
}

/** A listed person of concern seen inside the zone alerts, whatever the score. */
export interface ZoneEntryRule extends RuleBase {
  kind: 'zone-entry';
  citizens: string[];
  zone: string;
  severity: Severity;
}

export type Rule = ScoreRule | WordRule | ZoneEntryRule;

export interface RuleSet {
  rules: Rule[];
  zones: Zone[];
}

/** One version of a tenant's rules. Versions count from 1 per tenant and are never changed once written. */
export interface RuleSetVersion extends RuleSet, VersionMeta {}

/** A silence: alerts matching it are stored (marked silenced) but never announced live nor sent to webhooks. */
export interface Silence {
  id: string;
  tenant: string;
  /** What it silences: alerts inside a zone of the rules in force, of one drone, or about one citizen. */
  match: { kind: 'zone' | 'drone' | 'citizen'; value: string };
  /** ISO 8601 times, [startsAt, endsAt). */
  startsAt: string;
  endsAt: string;
  reason: string;
  author: string;
  createdAt: string;
}

export interface SilenceInput {
  match: Silence['match'];
  startsAt?: string | undefined;
  endsAt: string;
  reason: string;
}

/** POST /v1/rules/dry-run's answer (src/rules/dry-run.ts): what a rule set would have raised over a period. */
export interface DryRunCounts {
  alerts: number;
  /** Sightings that raised or updated an alert (an alert's occurrences, summed). */
  sightings: number;
  /** UTC day (YYYY-MM-DD) of the raising report -> alerts raised. */
  perDay: Record<string, number>;
  /** Zone id of the proposed set -> alerts raised inside it; `(none)`: outside every zone. */
  perZone: Record<string, number>;
  perSeverity: Record<string, number>;
  perRule: Record<string, number>;
  incidents: DryRunIncidentCounts;
}

/** The alerts of one set grouped into incidents as the alert worker groups them (docs/incidents.md). */
export interface DryRunIncidentCounts {
  /** Incidents at the end of the replay (those merged into another are counted in that one). */
  incidents: number;
  /** Incidents absorbed into an older one when an alert linked them (not in `incidents`). */
  merged: number;
  /** Incidents of two citizens or more (a lone alert is an incident too). */
  gatherings: number;
  /** UTC day (YYYY-MM-DD) of the incident's first sighting -> incidents. */
  perDay: Record<string, number>;
  /** Zone id of the proposed set containing the incident's centroid -> incidents; `(none)`: outside every zone. */
  perZone: Record<string, number>;
}

export interface DryRunResult {
  tenant: string;
  from: string;
  to: string;
  /** Reports of the period (all of them), and those that could alert under either set (replayed). */
  reports: number;
  replayed: number;
  inForce: DryRunCounts & { version: number };
  proposed: DryRunCounts;
  elapsedMs: number;
}
