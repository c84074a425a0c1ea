/** A drone's latest known position, as the dashboard's live map shows it. */
export interface DronePosition {
  /** Police force the drone belongs to (every view is filtered by the caller's). */
  tenant: string;
  droneId: string;
  lat: number;
  lon: number;
  /** Report time (epoch ms) of the position. */
  ts: number;
  /** When the stream appended that report (epoch ms): the platform's clock, not the drone's. */
  appendedAt: number;
}

export interface TrackPoint {
  lat: number;
  lon: number;
  /** Report time, epoch ms. */
  ts: number;
}

/** A drone that stopped reporting (see FleetTracker for the definition). */
export interface SilentDrone {
  droneId: string;
  /** Report time of its last report. */
  lastTs: number;
  /** Append time of its last report. */
  lastAppendedAt: number;
  /** How long it has been silent, ms (the larger of the report-time and wall-clock gaps). */
  silentForMs: number;
  lat: number;
  lon: number;
}

export interface FleetStats {
  /** Epoch ms of this snapshot. */
  at: number;
  /** Drones tracked (seen since the tracker started, within its memory bound). */
  drones: number;
  /** Reports appended to the `reports` topic per second, over the last few whole seconds. */
  reportsPerSecond: number;
  /** Reports the tracker read since it started (including skipped ones). */
  reportsRead: number;
  /** Records that were not a usable report (not JSON, no position) or belonged to another tenant. */
  reportsSkipped: number;
  /** Newest report time seen in the fleet, epoch ms (0 before the first report). */
  newestTs: number;
  silentAfterMs: number;
  silentCount: number;
  /** The longest-silent drones, at most `maxSilentListed`. */
  silent: SilentDrone[];
  /** Unread records of the tracker's own consumer group (-1 until known). */
  lag: number;
}

export type PositionsListener = (changed: readonly DronePosition[]) => void;
export type StatsListener = (stats: FleetStats) => void;
