import type { MaybePromise } from '../alerts/state.ts';
import type { AlertEvent } from '../alerts/types.ts';
import type { DurationSummary } from '../alerts/reaction.ts';
import type { GroupingConfig } from './config.ts';
import type { IncidentAction } from './lifecycle.ts';
import type { Incident, IncidentEvent, IncidentRecord, IncidentStatus } from './types.ts';

export interface IncidentListQuery {
  status?: readonly IncidentStatus[];
  /** Only this tenant's (the API always passes the caller's). */
  tenant?: string;
  /** Only incidents active at or after this epoch ms (report time of their latest sighting). */
  since?: number;
  /** Only incidents whose centroid is inside [minLat, minLon, maxLat, maxLon]. */
  bbox?: readonly [number, number, number, number];
  /** Default 100, at most 1,000. */
  limit?: number;
}

/** Officers' reaction to the incidents opened in [from, to) (beside the per-alert ReactionTimes). */
export interface IncidentReactionTimes {
  from: number;
  to: number;
  incidents: number;
  open: number;
  toAcknowledge: DurationSummary;
  toResolve: DurationSummary;
}

export type IncidentListener = (event: IncidentEvent) => void;

/**
 * Where incidents live: SQLite `incidents.db` beside alerts.db (embedded mode) or the backend's shared buckets
 * (distributed mode), behind this one interface; the grouping itself is src/incidents/grouping.ts, shared by both.
 * Like AlertState, the SQLite store answers synchronously (no microtask on the embedded alert path).
 */
export interface IncidentState {
  readonly grouping: GroupingConfig;
  /**
   * Groups the alerts of these events (`raised`, `updated`; lifecycle events are ignored) into incidents, in order,
   * and returns what changed. Idempotent: events applied before change nothing (see grouping.ts).
   */
  applyAlertEvents(events: readonly AlertEvent[]): MaybePromise<IncidentEvent[]>;
  /** The incident with its alerts (members) and timeline; undefined for another tenant's (when `tenant` is given). */
  get(incidentId: string, tenant?: string): MaybePromise<IncidentRecord | undefined>;
  /** Latest activity first. */
  list(q?: IncidentListQuery): MaybePromise<Incident[]>;
  /** An officer's change (acknowledge, assign, resolve) to the tenant's incident. */
  change(incidentId: string, action: IncidentAction, by: string, tenant?: string): MaybePromise<IncidentEvent>;
  reactionTimes(from: number, to: number, opts?: { tenant?: string }): MaybePromise<IncidentReactionTimes>;
  /** Every change, whichever process made it (this one at once; others within the store's polling or watch latency). */
  subscribe(listener: IncidentListener): () => void;
  close(): MaybePromise<void>;
}

/** The sighting events the grouping reads. */
export function groupable(events: readonly AlertEvent[]): AlertEvent[] {
  return events.filter((e) => e.type === 'raised' || e.type === 'updated');
}
