export type Severity = 'info' | 'warning' | 'critical';
export type AlertStatus = 'open' | 'acknowledged' | 'resolved';

/** An alert: one citizen of concern seen by one drone; repeated sightings within the dedup window update it. */
export interface Alert {
  /** Deterministic: derived from the first report id and the citizen, so a redelivered report cannot open a second alert. */
  alertId: string;
  tenant: string;
  droneId: string;
  citizen: string;
  /** Lowest score seen for this citizen in this alert. */
  score: number;
  severity: Severity;
  /** Which rule raised it: `score-below-threshold` or `words:<rule index>`. */
  rule: string;
  /** Version of the tenant's rule set that raised it (or last escalated it); absent on alerts from before rules were data. */
  ruleVersion?: number;
  /** Id of the silence it fell under when raised: kept and listed, never announced live nor sent to webhooks. */
  silenced?: string;
  /** Drone position at the latest sighting. */
  position: { lat: number; lon: number };
  /** Words heard in the latest sighting. */
  words: string[];
  firstReportId: string;
  lastReportId: string;
  /** Report time (epoch ms) of the first and latest sightings. */
  firstSeenTs: number;
  lastSeenTs: number;
  /** When the platform raised it (epoch ms) and last changed it. */
  raisedAt: number;
  updatedAt: number;
  occurrences: number;
  status: AlertStatus;
  assignee: string | null;
  acknowledgedBy: string | null;
  acknowledgedAt: number | null;
  resolvedBy: string | null;
  resolvedAt: number | null;
  note: string | null;
}

export type AlertEventType = 'raised' | 'updated' | 'acknowledged' | 'assigned' | 'resolved';

/** What the `alerts` topic carries (JSON), keyed by droneId, and what the archive writes to the lake's `alerts/` table. */
export interface AlertEvent {
  /** Deterministic id, used as the stream de-duplication id. */
  eventId: string;
  type: AlertEventType;
  /** Epoch ms of the event. */
  at: number;
  /** Who made the change (officer name) for acknowledged/assigned/resolved; null for the system. */
  by: string | null;
  /** The alert's state after the event. */
  alert: Alert;
}
