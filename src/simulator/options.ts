import { ConfigError, type FieldError } from '../errors/index.ts';

/** Patrolled area as [minLat, minLon, maxLat, maxLon] (the order of the `simulator.bbox` config option). */
export type BBox = readonly [minLat: number, minLon: number, maxLat: number, maxLon: number];

export const PARIS_BBOX: BBox = [48.815, 2.225, 48.902, 2.47];

export interface FleetOptions {
  /** Number of drones. Default 1000. */
  drones?: number;
  /** Same seed + same options => the same reports. Default 42. */
  seed?: number;
  /** Default Paris. */
  bbox?: BBox;
  /** Citizens living in the area. Default 50,000 (at most 1,000,000: names stay unique). */
  population?: number;
  /** Mean number of citizens seen per report (Poisson). Default 3. */
  citizensPerReport?: number;
  /** Mean number of words heard per report (Poisson, capped at 10). Default 4. */
  wordsPerReport?: number;
  /**
   * Share of the population in the low-score group (scores 0-30). Drives the alert rate: the default 0.0035 gives
   * ~0.75% of reports with a citizen below 20.
   */
  lowScoreShare?: number;
  /** Number of hotspots where low-score citizens cluster. Default 6. */
  hotspots?: number;
  /**
   * Gatherings under way at once at most (src/simulator/gatherings.ts): people of concern meeting at squares and
   * stations, growing, moving and dispersing, one per 45-minute slot each. Default 1; 0: only scattered low scores.
   */
  gatherings?: number;
  /** Patrol speed range in km/h. Default 30-60 (so at most 1 km between two reports a minute apart). */
  minSpeedKmh?: number;
  maxSpeedKmh?: number;
  /** Simulated time of the first report (epoch ms or Date). Default now: pass it for reproducible output. */
  start?: Date | number;
}

export interface ResolvedFleetOptions {
  drones: number;
  seed: number;
  bbox: BBox;
  population: number;
  citizensPerReport: number;
  wordsPerReport: number;
  lowScoreShare: number;
  hotspots: number;
  gatherings: number;
  minSpeedKmh: number;
  maxSpeedKmh: number;
  start: number;
}

export const FLEET_DEFAULTS = {
  drones: 1000,
  seed: 42,
  bbox: PARIS_BBOX,
  population: 50_000,
  citizensPerReport: 3,
  wordsPerReport: 4,
  lowScoreShare: 0.0035,
  hotspots: 6,
  gatherings: 1,
  minSpeedKmh: 30,
  maxSpeedKmh: 60,
} as const;

export const MAX_POPULATION = 1_000_000;
export const MAX_DRONES = 10_000_000;
/** 9999-12-31T23:00:00Z: leaves room for a run of some hours before the four-digit year ends. */
const MAX_START_MS = 253_402_297_200_000;

/** Applies defaults and checks every option, reporting all problems at once. */
export function resolveFleetOptions(opts: FleetOptions): ResolvedFleetOptions {
  const r: ResolvedFleetOptions = {
    drones: opts.drones ?? FLEET_DEFAULTS.drones,
    seed: opts.seed ?? FLEET_DEFAULTS.seed,
    bbox: opts.bbox ?? FLEET_DEFAULTS.bbox,
    population: opts.population ?? FLEET_DEFAULTS.population,
    citizensPerReport: opts.citizensPerReport ?? FLEET_DEFAULTS.citizensPerReport,
    wordsPerReport: opts.wordsPerReport ?? FLEET_DEFAULTS.wordsPerReport,
    lowScoreShare: opts.lowScoreShare ?? FLEET_DEFAULTS.lowScoreShare,
    hotspots: opts.hotspots ?? FLEET_DEFAULTS.hotspots,
    gatherings: opts.gatherings ?? FLEET_DEFAULTS.gatherings,
    minSpeedKmh: opts.minSpeedKmh ?? FLEET_DEFAULTS.minSpeedKmh,
    maxSpeedKmh: opts.maxSpeedKmh ?? FLEET_DEFAULTS.maxSpeedKmh,
    start: opts.start === undefined ? Date.now() : typeof opts.start === 'number' ? opts.start : opts.start.getTime(),
  };
  const errors: FieldError[] = [];
  const intIn = (field: keyof ResolvedFleetOptions, v: number, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) errors.push({ field, reason: `must be an integer in [${min}, ${max}]` });
  };
  const numIn = (field: keyof ResolvedFleetOptions, v: number, min: number, max: number): void => {
    if (!Number.isFinite(v) || v < min || v > max) errors.push({ field, reason: `must be a number in [${min}, ${max}]` });
  };
  intIn('drones', r.drones, 1, MAX_DRONES);
  if (!Number.isSafeInteger(r.seed)) errors.push({ field: 'seed', reason: 'must be a safe integer' });
  intIn('population', r.population, 1, MAX_POPULATION);
  numIn('citizensPerReport', r.citizensPerReport, 0, 20);
  numIn('wordsPerReport', r.wordsPerReport, 0, 10);
  numIn('lowScoreShare', r.lowScoreShare, 0, 1);
  intIn('hotspots', r.hotspots, 0, 1000);
  intIn('gatherings', r.gatherings, 0, 100);
  numIn('minSpeedKmh', r.minSpeedKmh, 0.1, 500);
  numIn('maxSpeedKmh', r.maxSpeedKmh, 0.1, 500);
  if (r.minSpeedKmh > r.maxSpeedKmh) errors.push({ field: 'minSpeedKmh', reason: 'must be <= maxSpeedKmh' });
  // Report timestamps are RFC 3339 with a four-digit year.
  if (!Number.isFinite(r.start) || r.start < 0 || r.start > MAX_START_MS) {
    errors.push({ field: 'start', reason: 'must be a date between 1970 and 9999' });
  }
  const [minLat, minLon, maxLat, maxLon] = r.bbox;
  if (r.bbox.length !== 4 || ![minLat, minLon, maxLat, maxLon].every(Number.isFinite)) {
    errors.push({ field: 'bbox', reason: 'must be [minLat, minLon, maxLat, maxLon] numbers' });
  } else if (minLat < -85 || maxLat > 85 || minLon < -180 || maxLon > 180 || maxLat - minLat < 1e-4 || maxLon - minLon < 1e-4) {
    // Beyond +-85 degrees the flat-earth approximation used for movement breaks down.
    errors.push({ field: 'bbox', reason: 'must satisfy -85 <= minLat < maxLat <= 85 and -180 <= minLon < maxLon <= 180, each side >= 0.0001 degrees' });
  }
  if (errors.length > 0) {
    throw new ConfigError(`invalid simulator options: ${errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`, errors);
  }
  return r;
}
