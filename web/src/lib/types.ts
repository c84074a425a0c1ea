/**
 * The API's shapes. Alerts, fleet positions and reaction times are imported from the server's own type files (pure
 * types, no runtime code), so the browser and the server cannot drift apart; the rest is declared here.
 */
export type { Alert, AlertEvent, AlertEventType, AlertStatus, Severity } from '../../../src/alerts/types.ts';
export type { DurationSummary, ReactionTimes } from '../../../src/alerts/reaction.ts';
export type { Incident, IncidentEvent, IncidentEventType, IncidentStatus } from '../../../src/incidents/types.ts';
export type { FleetStats, SilentDrone, TrackPoint } from '../../../src/fleet/types.ts';
import type { FleetStats } from '../../../src/fleet/types.ts';

/** GET /v1/dashboard/config */
export interface DashboardConfig {
  tileUrl: string | null;
  tileAttribution: string;
  tileMaxZoom: number;
  bbox: [number, number, number, number];
  alertThreshold: number;
  criticalThreshold: number;
}

/** `[droneId, lat, lon, ts]` as /v1/fleet/stream sends positions. */
export type WirePosition = [string, number, number, number];

/** The `health` event of /v1/fleet/stream. */
export interface FleetHealth extends FleetStats {
  /** Lag (unread reports) of every consumer group: alerts, archive, fleet. */
  consumers: Record<string, number>;
  overloaded: boolean;
}

/** POST /v1/query and GET /v1/stats/:name answers in JSON. */
export interface QueryResult {
  columns: string[];
  columnTypes: string[];
  rows: unknown[][];
  rowCount: number;
  truncated: boolean;
  elapsedMs: number | null;
}

/** GET /v1/stats: each ready-made statistic. */
export interface StatInfo {
  name: string;
  /** The question it answers. */
  description: string;
  /** Parameters besides from/to. */
  options: ('cell' | 'minutes' | 'limit' | 'tz')[];
  sql?: string;
}

/** GET /v1/queries */
export interface SavedQuery {
  name: string;
  sql: string;
  description: string;
  createdAt: string;
  updatedAt: string;
}

export type { Permission, Role } from '../../../src/security/roles.ts';
import type { Permission, Role } from '../../../src/security/roles.ts';

/** GET /v1/auth/me */
export interface Me {
  name: string;
  kind: 'user' | 'drone';
  tenant: string;
  roles: Role[];
  permissions: Permission[];
  /** The session's CSRF token (cookie sessions only): a reloaded page gets it back here. */
  csrf?: string;
}

/** POST /v1/auth/login */
export interface LoginAnswer {
  username: string;
  tenant: string;
  roles: Role[];
  csrf: string;
  expiresAt: string;
}

export type {
  DryRunCounts, DryRunIncidentCounts, DryRunResult, Rule, RuleSet, RuleSetVersion, ScoreRule, Silence, WordRule, Zone, ZoneEntryRule, ZoneGeometry,
} from '../../../src/rules/types.ts';

