/** A citizen recognised near the drone, with the score the recognition system gave them (0-100). */
export interface Citizen {
  name: string;
  score: number;
}

/** One report as a drone sends it (schema version 1, see docs/report-format.md). */
export interface Report {
  droneId: string;
  /** RFC 3339 timestamp as sent by the drone. */
  timestamp: string;
  position: { lat: number; lon: number };
  citizens: Citizen[];
  words: string[];
}

/**
 * A report accepted by ingestion: what travels on the `reports` topic (as JSON).
 * `reportId` is `<droneId>:<epoch milliseconds>`: stable for the same (droneId, instant),
 * so a retried report is recognised and de-duplicated everywhere downstream.
 */
export interface AcceptedReport extends Report {
  reportId: string;
  /** Epoch milliseconds of `timestamp` (normalised to UTC). */
  ts: number;
  /** Epoch milliseconds at which ingestion accepted the report. */
  receivedAt: number;
  /** Police force the drone belongs to. Single-tenant deployments use "default". */
  tenant: string;
}
