import type { ReactionTimes } from './reaction.ts';
import type { AcceptedReport } from '../contract/types.ts';
import type { AlertCandidate } from './rules.ts';
import type { Alert, AlertEvent, AlertStatus } from './types.ts';

/**
 * A value now, or later. The SQLite store answers synchronously and must keep doing so: the worker's latency path
 * checks `instanceof Promise` instead of awaiting, so the embedded mode pays no extra microtask per batch.
 */
export type MaybePromise<T> = T | Promise<T>;

/** A report and what the rules said about it. */
export interface ReportCandidates {
  report: AcceptedReport;
  candidates: readonly AlertCandidate[];
  /**
   * Where the report is on the `reports` topic. The KV state uses it for idempotency (a drone's reports are in one
   * partition, in order, so an alert that applied offset N has applied every sighting of its drone up to N); the
   * SQLite store keeps its `applied` table and ignores it.
   */
  position?: { partition: number; offset: number };
}

export interface AlertListQuery {
  status?: AlertStatus | readonly AlertStatus[];
  tenant?: string;
  droneId?: string;
  citizen?: string;
  /** Only alerts raised at or after this epoch ms. */
  since?: number;
  /** Only alerts whose latest position is inside [minLat, minLon, maxLat, maxLon]. */
  bbox?: readonly [number, number, number, number];
  /** Default 100, at most 10,000. */
  limit?: number;
}

/** What applying a batch of sightings gives. */
export interface AppliedSightings {
  /** Changes made now, in order: announce them (bus, webhooks) and publish them on the `alerts` topic. */
  events: readonly AlertEvent[];
  /**
   * Events of sightings found already applied (a redelivered report): a crash may have come between the state update
   * and the topic publish, so they are published again with the same ids (the topic drops a repeat), but not
   * announced again. Always empty for the SQLite store, whose outbox does this job.
   */
  republish: readonly AlertEvent[];
}

/**
 * Where alerts live: the SQLite AlertStore (embedded mode, one process or processes sharing a data directory) or the
 * JetStream KV state (distributed mode, src/backend/nats/alerts/), shared by every alert worker and API process.
 * The alert worker, AlertService and the platform use only this.
 */
export interface AlertState {
  /** The dedup window the state applies (docs/alerts.md, "Dedup window"). */
  readonly dedupWindowMs: number;
  applySightings(batch: readonly ReportCandidates[]): MaybePromise<AppliedSightings>;
  acknowledge(alertId: string, by: string, note?: string): MaybePromise<AlertEvent>;
  assign(alertId: string, assignee: string, by: string): MaybePromise<AlertEvent>;
  resolve(alertId: string, by: string, note?: string): MaybePromise<AlertEvent>;
  get(alertId: string): MaybePromise<Alert | undefined>;
  list(q?: AlertListQuery): MaybePromise<Alert[]>;
  countByStatus(): MaybePromise<Record<AlertStatus, number>>;
  reactionTimes(from: number, to: number, opts?: { tenant?: string; maxSamples?: number }): MaybePromise<ReactionTimes>;
  /**
   * Whether `pendingEvents()` holds every event not yet on the `alerts` topic, sightings' included (the SQLite
   * outbox). The KV state keeps only officers' changes there: a sighting's event whose publish failed comes back only
   * if its report is delivered again, so the alert worker must not commit past it (AlertWorker.publishAndCommit).
   */
  readonly outboxHoldsSightings: boolean;
  /** Outbox of events not yet on the `alerts` topic (SQLite); a state without an outbox returns none. */
  pendingEvents(opts?: { olderThanMs?: number; limit?: number }): MaybePromise<AlertEvent[]>;
  markPublished(eventIds: readonly string[]): MaybePromise<void>;
  /** Forgets idempotency records past their retention; returns how many. */
  prune(): MaybePromise<number>;
  close(): MaybePromise<void>;
}
