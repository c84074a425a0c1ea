import type { Area } from './area.ts';
import { FEMALE_FIRST_NAMES, MALE_FIRST_NAMES, SURNAMES } from './names.ts';
import { Rng, WeightedTable, zipfWeights } from './random.ts';

/** A place where low-score citizens cluster. */
export interface Hotspot {
  lat: number;
  lon: number;
  /** Standard deviation of the residents' distance from the centre, metres. */
  radiusM: number;
}

export interface PopulationOptions {
  size: number;
  seed: number;
  lowScoreShare: number;
  hotspots: number;
}

/** Share of low-score citizens who live around a hotspot; the rest live anywhere, like everybody else. */
const LOW_SCORE_IN_HOTSPOT = 0.7;
/** Share of compound names ("Jean-Pierre", "Martin-Dubois") drawn even when the simple name is still free. */
const COMPOUND_NAME_SHARE = 0.08;

/**
 * The citizens of the area: unique names, a fixed score each, and a home cell. Stored column-wise (typed arrays
 * plus one string per name) so that a million citizens stay cheap. Derived from the seed alone (not from the fleet
 * size), so every fleet run with the same seed sees the same people.
 */
export class Population {
  readonly size: number;
  readonly names: string[];
  /** Score x 10 (scores have one decimal), so `scoreTenths[i] / 10` is the exact reported number. */
  readonly scoreTenths: Uint16Array;
  readonly homeCell: Uint32Array;
  /** Residents of cell c are `cellMembers[cellStart[c] .. cellStart[c + 1])`. */
  readonly cellStart: Uint32Array;
  readonly cellMembers: Uint32Array;
  /** 1 for cells within a hotspot (tension there shows in the words heard). */
  readonly hotCell: Uint8Array;
  readonly hotspots: readonly Hotspot[];

  constructor(area: Area, opts: PopulationOptions) {
    const rng = new Rng(opts.seed, 'population');
    this.size = opts.size;
    this.hotspots = placeHotspots(area, opts.hotspots, rng);
    this.names = uniqueNames(opts.size, rng);
    this.scoreTenths = new Uint16Array(opts.size);
    this.homeCell = new Uint32Array(opts.size);

    // Exactly round(size x share) low-score citizens (selection sampling), so the alert rate does not wobble with the
    // seed more than it must.
    let lowLeft = Math.round(opts.size * opts.lowScoreShare);
    for (let i = 0; i < opts.size; i++) {
      const low = rng.next() * (opts.size - i) < lowLeft;
      if (low) lowLeft--;
      // Most people score high (Beta(9, 2.5) x 100: mean ~78, nearly all within 55-98); the low group spreads over
      // 0-30 so that only part of it crosses the usual alert threshold of 20.
      const score = low ? 30 * rng.beta(1.6, 1.6) : 100 * rng.beta(9, 2.5);
      this.scoreTenths[i] = Math.min(1000, Math.max(0, Math.round(score * 10)));
      let lat: number;
      let lon: number;
      const hotspot = low && this.hotspots.length > 0 && rng.next() < LOW_SCORE_IN_HOTSPOT
        ? this.hotspots[rng.int(this.hotspots.length)]
        : undefined;
      if (hotspot) {
        lat = area.clampLat(hotspot.lat + (rng.normal() * hotspot.radiusM) / area.mPerDegLat);
        lon = area.clampLon(hotspot.lon + (rng.normal() * hotspot.radiusM) / area.mPerDegLon);
      } else {
        lat = rng.range(area.minLat, area.maxLat);
        lon = rng.range(area.minLon, area.maxLon);
      }
      this.homeCell[i] = area.cellOf(lat, lon);
    }

    // Counting sort of citizens by cell (CSR layout): one pass to count, one to place.
    const cells = area.cellCount;
    this.cellStart = new Uint32Array(cells + 1);
    for (let i = 0; i < opts.size; i++) this.cellStart[(this.homeCell[i] ?? 0) + 1]!++;
    for (let c = 0; c < cells; c++) this.cellStart[c + 1]! += this.cellStart[c]!;
    this.cellMembers = new Uint32Array(opts.size);
    const fill = this.cellStart.slice(0, cells);
    for (let i = 0; i < opts.size; i++) this.cellMembers[fill[this.homeCell[i] ?? 0]!++] = i;

    this.hotCell = new Uint8Array(cells);
    for (let c = 0; c < cells; c++) {
      const [lat, lon] = area.cellCentre(c);
      if (this.hotspots.some((h) => area.distanceM(lat, lon, h.lat, h.lon) <= 2 * h.radiusM)) this.hotCell[c] = 1;
    }
  }

  score(i: number): number {
    return (this.scoreTenths[i] ?? 0) / 10;
  }

  /** Number of citizens whose score is strictly below `threshold`. */
  countBelow(threshold: number): number {
    let n = 0;
    for (let i = 0; i < this.size; i++) if ((this.scoreTenths[i] ?? 0) < threshold * 10) n++;
    return n;
  }
}

function placeHotspots(area: Area, count: number, rng: Rng): Hotspot[] {
  const out: Hotspot[] = [];
  const scale = Math.min(area.widthM, area.heightM);
  for (let i = 0; i < count; i++) {
    // Kept away from the edges so that the cluster lies mostly inside the area.
    const lat = area.minLat + (0.1 + 0.8 * rng.next()) * (area.maxLat - area.minLat);
    const lon = area.minLon + (0.1 + 0.8 * rng.next()) * (area.maxLon - area.minLon);
    const radiusM = Math.min(rng.range(300, 700), 0.1 * scale);
    out.push({ lat, lon, radiusM });
  }
  return out;
}

function uniqueNames(count: number, rng: Rng): string[] {
  const female = new WeightedTable(zipfWeights(FEMALE_FIRST_NAMES.length, 0.8, 3));
  const male = new WeightedTable(zipfWeights(MALE_FIRST_NAMES.length, 0.8, 3));
  const surname = new WeightedTable(zipfWeights(SURNAMES.length, 0.7, 2));
  const used = new Set<string>();
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const isFemale = rng.next() < 0.5;
    const list = isFemale ? FEMALE_FIRST_NAMES : MALE_FIRST_NAMES;
    const table = isFemale ? female : male;
    for (let attempt = 0; ; attempt++) {
      // Common combinations run out first: then uniform draws fill the rest of the simple-name space, and past that
      // (a city has more people than 150 x 200 simple names) a compound given name ("Jean-Pierre") or a
      // double-barrelled surname ("Martin-Dubois") makes the name unique, as it often does in France.
      const uniform = attempt >= 6;
      const compound = attempt >= 20 || rng.next() < COMPOUND_NAME_SHARE;
      const pickFirst = (): string => list[uniform ? rng.int(list.length) : table.pick(rng)] ?? 'Camille';
      const pickLast = (): string => SURNAMES[uniform ? rng.int(SURNAMES.length) : surname.pick(rng)] ?? 'Martin';
      let first = pickFirst();
      let last = pickLast();
      if (compound) {
        if (rng.next() < 0.5) {
          let second = pickFirst();
          while (second === first) second = list[rng.int(list.length)] ?? 'Marie';
          first = `${first}-${second}`;
        } else {
          let second = pickLast();
          while (second === last) second = SURNAMES[rng.int(SURNAMES.length)] ?? 'Dubois';
          last = `${last}-${second}`;
        }
      }
      const name = `${first} ${last}`;
      if (!used.has(name)) {
        used.add(name);
        names.push(name);
        break;
      }
      if (attempt > 10_000) throw new Error(`cannot find a unique name for citizen ${i}`);
    }
  }
  return names;
}
