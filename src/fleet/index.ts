export { FleetTracker, type FleetTrackerOptions } from './tracker.ts';
export { RateCounter } from './rate.ts';
export type { DronePosition, FleetStats, PositionsListener, SilentDrone, StatsListener, TrackPoint } from './types.ts';
