import type { Citizen, Report } from '../contract/types.ts';
import { Area } from './area.ts';
import { resolveFleetOptions, type FleetOptions, type ResolvedFleetOptions } from './options.ts';
import { Gatherings } from './gatherings.ts';
import { Population } from './population.ts';
import { Rng, WeightedTable, zipfWeights } from './random.ts';
import { ORDINARY_WORDS, RIOT_WORDS } from './vocabulary.ts';

/** Every drone reports once per simulated minute. */
export const REPORT_INTERVAL_MS = 60_000;
const INTERVAL_S = REPORT_INTERVAL_MS / 1000;

const MAX_CITIZENS_PER_REPORT = 20;
const MAX_WORDS_PER_REPORT = 10;
/** A citizen seen is a resident of the drone's cell with this probability, else a passer-by from anywhere. */
const RESIDENT_SHARE = 0.7;
/** Seeing someone below this score makes riot words likely (the default alert threshold). */
const TENSE_SCORE_TENTHS = 200;
/** Share of riot words among the words heard: normally, inside a hotspot, and next to a low-score citizen. */
const RIOT_SHARE_CALM = 0.01;
const RIOT_SHARE_HOTSPOT = 0.04;
const RIOT_SHARE_TENSE = 0.35;

/** Heading: the turn rate (rad per minute) is an AR(1) process, so headings change smoothly, not by jumps. */
const TURN_KEEP = 0.7;
const TURN_NOISE = 0.25;
/** Speed reverts towards the middle of the range, with noise. */
const SPEED_REVERT = 0.3;

const ordinaryTable = new WeightedTable(zipfWeights(ORDINARY_WORDS.length, 0.9, 4));
const riotTable = new WeightedTable(zipfWeights(RIOT_WORDS.length, 0.6, 2));

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/**
 * A simulated fleet. Reports come out in timestamp order: drone i reports at the instants t where
 * `t mod 60000 = phase[i]` (its phase is a fixed random offset in the minute), starting at `start`. Each report
 * first moves the drone by one minute of flight, then draws what it sees and hears.
 *
 * State is column-wise typed arrays (~50 bytes per drone), so 100,000+ drones cost a few megabytes.
 */
export class Fleet {
  readonly options: ResolvedFleetOptions;
  readonly size: number;
  readonly area: Area;
  readonly population: Population;

  private readonly lat: Float64Array;
  private readonly lon: Float64Array;
  private readonly heading: Float64Array;
  private readonly turn: Float32Array;
  /** Metres per second. */
  private readonly speed: Float32Array;
  /** Milliseconds after each minute boundary at which the drone reports. */
  private readonly phase: Uint16Array;
  /** Drone indices sorted by phase: the emission order within a minute. */
  private readonly order: Uint32Array;
  private readonly rng: Rng;
  /** Gatherings and the draws of their sightings: a stream of their own, so reports away from them stay as they were. */
  readonly gatherings: Gatherings | undefined;
  private readonly gatheringRng: Rng;
  private readonly idWidth: number;
  private readonly minSpeed: number;
  private readonly maxSpeed: number;
  private readonly latMin6: number;
  private readonly latMax6: number;
  private readonly lonMin6: number;
  private readonly lonMax6: number;

  /** Start of the minute being emitted (epoch ms, multiple of 60000) and position in `order`. */
  private minuteStart: number;
  private cursor: number;
  /** `YYYY-MM-DDTHH:MM:` of minuteStart: Date#toISOString costs ~30x more than appending seconds to a cached prefix. */
  private minutePrefix = '';
  private prefixMinute = Number.NaN;
  private readonly citizensLimit: number;
  private readonly wordsLimit: number;

  constructor(opts: FleetOptions = {}) {
    const o = resolveFleetOptions(opts);
    this.options = o;
    this.size = o.drones;
    this.area = new Area(o.bbox);
    this.population = new Population(this.area, {
      size: o.population,
      seed: o.seed,
      lowScoreShare: o.lowScoreShare,
      hotspots: o.hotspots,
    });
    this.idWidth = Math.max(5, String(o.drones).length);
    this.minSpeed = o.minSpeedKmh / 3.6;
    this.maxSpeed = o.maxSpeedKmh / 3.6;
    // Emitted positions are rounded to 6 decimals: clamp them to the bbox rounded inwards so they stay inside it.
    this.latMin6 = Math.ceil(this.area.minLat * 1e6) / 1e6;
    this.latMax6 = Math.floor(this.area.maxLat * 1e6) / 1e6;
    this.lonMin6 = Math.ceil(this.area.minLon * 1e6) / 1e6;
    this.lonMax6 = Math.floor(this.area.maxLon * 1e6) / 1e6;

    const n = o.drones;
    this.lat = new Float64Array(n);
    this.lon = new Float64Array(n);
    this.heading = new Float64Array(n);
    this.turn = new Float32Array(n);
    this.speed = new Float32Array(n);
    this.phase = new Uint16Array(n);
    const init = new Rng(o.seed, 'drones');
    for (let i = 0; i < n; i++) {
      this.lat[i] = init.range(this.area.minLat, this.area.maxLat);
      this.lon[i] = init.range(this.area.minLon, this.area.maxLon);
      this.heading[i] = init.range(0, 2 * Math.PI);
      this.speed[i] = init.range(this.minSpeed, this.maxSpeed);
      this.phase[i] = init.int(REPORT_INTERVAL_MS);
    }
    // Sort by (phase, index) through one Float64Array of phase * n + i: a native numeric sort, no comparator.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = this.phase[i]! * n + i;
    keys.sort();
    this.order = new Uint32Array(n);
    for (let j = 0; j < n; j++) this.order[j] = keys[j]! % n;

    this.rng = new Rng(o.seed, 'reports');
    this.gatherings = o.gatherings > 0 ? new Gatherings(this.area, this.population, { lanes: o.gatherings, seed: o.seed, drones: o.drones }) : undefined;
    this.gatheringRng = new Rng(o.seed, 'gathering-sightings');
    this.citizensLimit = Math.exp(-o.citizensPerReport);
    this.wordsLimit = Math.exp(-o.wordsPerReport);
    this.minuteStart = Math.floor(o.start / REPORT_INTERVAL_MS) * REPORT_INTERVAL_MS;
    this.cursor = 0;
    while (this.cursor < n && this.minuteStart + this.phase[this.order[this.cursor]!]! < o.start) this.cursor++;
    if (this.cursor === n) {
      this.cursor = 0;
      this.minuteStart += REPORT_INTERVAL_MS;
    }
  }

  /** `drone-00042` for index 41: 1-based, zero padded to the width of the fleet size (at least 5 digits). */
  droneId(index: number): string {
    return `drone-${String(index + 1).padStart(this.idWidth, '0')}`;
  }

  /** Epoch ms of the next report. */
  get nextTime(): number {
    return this.minuteStart + this.phase[this.order[this.cursor]!]!;
  }

  /** The next report in time order. */
  next(): Report {
    const i = this.order[this.cursor]!;
    const t = this.minuteStart + this.phase[i]!;
    if (++this.cursor === this.size) {
      this.cursor = 0;
      this.minuteStart += REPORT_INTERVAL_MS;
    }
    this.move(i);
    return this.report(i, t);
  }

  /** Up to `max` next reports whose timestamp is before `until` (epoch ms, exclusive). */
  take(max: number, until = Number.POSITIVE_INFINITY): Report[] {
    const out: Report[] = [];
    while (out.length < max && this.nextTime < until) out.push(this.next());
    return out;
  }

  /** All reports in time order, without end (stop iterating to stop). */
  *[Symbol.iterator](): Iterator<Report> {
    for (;;) yield this.next();
  }

  /** How many reports fall in [from, until) (epoch ms), whatever has been emitted so far. */
  countBetween(from: number, until: number): number {
    if (!(until > from)) return 0;
    let total = 0;
    for (let i = 0; i < this.size; i++) {
      const p = this.phase[i]!;
      total += Math.ceil((until - p) / REPORT_INTERVAL_MS) - Math.ceil((from - p) / REPORT_INTERVAL_MS);
    }
    return total;
  }

  /** One minute of flight: smooth turn, speed drift, straight chord along the mean heading, bounce at the edges. */
  private move(i: number): void {
    const rng = this.rng;
    const area = this.area;
    const turn = this.turn[i]! * TURN_KEEP + rng.normal() * TURN_NOISE;
    this.turn[i] = turn;
    const h0 = this.heading[i]!;
    let h1 = h0 + turn;
    const mid = (this.minSpeed + this.maxSpeed) / 2;
    let v = this.speed[i]!;
    v += (mid - v) * SPEED_REVERT + rng.normal() * (this.maxSpeed - this.minSpeed) * 0.15;
    if (v < this.minSpeed) v = this.minSpeed;
    else if (v > this.maxSpeed) v = this.maxSpeed;
    this.speed[i] = v;
    const h = (h0 + h1) / 2;
    const d = v * INTERVAL_S;
    let lat = this.lat[i]! + (d * Math.cos(h)) / area.mPerDegLat;
    let lon = this.lon[i]! + (d * Math.sin(h)) / area.mPerDegLon;
    // Reflection at the edges (like a billiard ball) keeps the distance travelled and turns the drone back inside.
    // The loop only matters for areas smaller than one minute of flight.
    for (let k = 0; k < 8 && (lat < area.minLat || lat > area.maxLat); k++) {
      lat = lat < area.minLat ? 2 * area.minLat - lat : 2 * area.maxLat - lat;
      h1 = Math.PI - h1;
    }
    for (let k = 0; k < 8 && (lon < area.minLon || lon > area.maxLon); k++) {
      lon = lon < area.minLon ? 2 * area.minLon - lon : 2 * area.maxLon - lon;
      h1 = -h1;
    }
    this.lat[i] = area.clampLat(lat);
    this.lon[i] = area.clampLon(lon);
    this.heading[i] = h1 - 2 * Math.PI * Math.floor(h1 / (2 * Math.PI));
  }

  /** Same text as `new Date(t).toISOString()`. */
  private timestamp(t: number): string {
    const minute = t - (t % REPORT_INTERVAL_MS);
    if (minute !== this.prefixMinute) {
      const iso = new Date(minute).toISOString();
      this.minutePrefix = iso.slice(0, iso.length - 7);
      this.prefixMinute = minute;
    }
    const inMinute = t - minute;
    const sec = (inMinute / 1000) | 0;
    const ms = inMinute - sec * 1000;
    return this.minutePrefix + (sec < 10 ? '0' : '') + sec + (ms < 10 ? '.00' : ms < 100 ? '.0' : '.') + ms + 'Z';
  }

  private report(i: number, t: number): Report {
    const rng = this.rng;
    const pop = this.population;
    const lat = this.lat[i]!;
    const lon = this.lon[i]!;
    const cell = this.area.cellOf(lat, lon);
    const residentsFrom = pop.cellStart[cell]!;
    const residents = pop.cellStart[cell + 1]! - residentsFrom;

    let seen = rng.poissonBelow(this.citizensLimit);
    if (seen > MAX_CITIZENS_PER_REPORT) seen = MAX_CITIZENS_PER_REPORT;
    if (seen > pop.size) seen = pop.size;
    const citizens: Citizen[] = [];
    const picked: number[] = [];
    let tense = false;
    while (picked.length < seen) {
      const c = residents > 0 && rng.next() < RESIDENT_SHARE
        ? pop.cellMembers[residentsFrom + rng.int(residents)]!
        : rng.int(pop.size);
      if (picked.includes(c)) continue;
      picked.push(c);
      const tenths = pop.scoreTenths[c]!;
      if (tenths < TENSE_SCORE_TENTHS) tense = true;
      citizens.push({ name: pop.names[c]!, score: tenths / 10 });
    }
    if (this.gatherings) {
      for (const c of this.gatherings.seenFrom(lat, lon, t, this.gatheringRng)) {
        if (citizens.length >= MAX_CITIZENS_PER_REPORT || picked.includes(c)) continue;
        picked.push(c);
        citizens.push({ name: pop.names[c]!, score: pop.scoreTenths[c]! / 10 });
      }
    }

    let heard = rng.poissonBelow(this.wordsLimit);
    if (heard > MAX_WORDS_PER_REPORT) heard = MAX_WORDS_PER_REPORT;
    const riotShare = tense ? RIOT_SHARE_TENSE : pop.hotCell[cell] === 1 ? RIOT_SHARE_HOTSPOT : RIOT_SHARE_CALM;
    const words: string[] = [];
    // Words are distinct within a report; a bounded number of draws keeps a pathological case from looping.
    for (let draws = 0; words.length < heard && draws < 4 * MAX_WORDS_PER_REPORT; draws++) {
      const w = rng.next() < riotShare ? RIOT_WORDS[riotTable.pick(rng)]! : ORDINARY_WORDS[ordinaryTable.pick(rng)]!;
      if (!words.includes(w)) words.push(w);
    }

    let rlat = round6(lat);
    let rlon = round6(lon);
    if (rlat < this.latMin6) rlat = this.latMin6;
    else if (rlat > this.latMax6) rlat = this.latMax6;
    if (rlon < this.lonMin6) rlon = this.lonMin6;
    else if (rlon > this.lonMax6) rlon = this.lonMax6;
    return {
      droneId: this.droneId(i),
      timestamp: this.timestamp(t),
      position: { lat: rlat, lon: rlon },
      citizens,
      words,
    };
  }
}
