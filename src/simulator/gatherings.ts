import type { Area } from './area.ts';
import type { Population } from './population.ts';
import { Rng } from './random.ts';

/**
 * Gatherings: people of concern meeting at a place (a square, a station), growing, drifting through the streets and
 * dispersing, seen by the drones that fly over them. What makes incidents mean something (docs/incidents.md); the
 * scattered low scores of the population remain as the false alarms around them.
 *
 * Each of the `lanes` runs one gathering per PERIOD_MS slot, drawn from (seed, lane, slot) alone: the gathering active
 * at an instant does not depend on when the simulation started or how it was batched, so a replay, a restart and a
 * backfill see the same riots.
 */

/** Squares and stations of the default area (Paris); other areas get places drawn from the seed. */
const PARIS_PLACES: readonly { name: string; lat: number; lon: number }[] = [
  { name: 'Place de la République', lat: 48.8674, lon: 2.3636 },
  { name: 'Gare du Nord', lat: 48.8809, lon: 2.3553 },
  { name: 'Châtelet', lat: 48.8586, lon: 2.3470 },
  { name: 'Place de la Bastille', lat: 48.8532, lon: 2.3691 },
  { name: 'Gare de Lyon', lat: 48.8443, lon: 2.3744 },
  { name: 'Place de la Nation', lat: 48.8483, lon: 2.3958 },
  { name: "Place d'Italie", lat: 48.8310, lon: 2.3555 },
  { name: 'Gare Saint-Lazare', lat: 48.8763, lon: 2.3253 },
  { name: 'Trocadéro', lat: 48.8616, lon: 2.2893 },
  { name: 'Gare Montparnasse', lat: 48.8412, lon: 2.3209 },
];

export const PERIOD_MS = 45 * 60_000;
/** A drone sees the gathering when it is within this distance of its centre. */
export const SEE_RADIUS_M = 250;
/**
 * Reports a minute that see one gathering, whatever the fleet's size: a drone over it sees it with the probability
 * that gives this many on average. Keeps the alerting share of reports bounded (under 1% with the scattered false
 * alarms) from 1,000 drones to the full fleet, where hundreds fly over any square.
 */
const SIGHTINGS_PER_MINUTE = 1.5;
/** Each participant present is in a sighting with this probability (crowds hide people). */
const SEEN_SHARE = 0.6;
/** Participants below this score: the gathering's alerts. */
const CONCERN_TENTHS = 200;

export interface Gathering {
  place: string;
  lane: number;
  /** Epoch ms. */
  start: number;
  end: number;
  peak: number;
  /** Population indices of its participants, in the order they join. */
  participants: Uint32Array;
  /** Start position and drift, metres per minute north and east. */
  lat: number;
  lon: number;
  northPerMin: number;
  eastPerMin: number;
}

export class Gatherings {
  private readonly places: readonly { name: string; lat: number; lon: number }[];
  private readonly concern: Uint32Array;
  private readonly seeProbability: number;
  private readonly cache = new Map<string, Gathering | null>();

  constructor(private readonly area: Area, private readonly population: Population, private readonly opts: { lanes: number; seed: number; drones: number }) {
    const inside = PARIS_PLACES.filter((p) => p.lat > area.minLat && p.lat < area.maxLat && p.lon > area.minLon && p.lon < area.maxLon);
    const rng = new Rng(opts.seed, 'gathering-places');
    this.places = inside.length >= 3 ? inside : Array.from({ length: 8 }, (_, i) => ({
      name: `place ${i + 1}`,
      lat: area.minLat + (0.15 + 0.7 * rng.next()) * (area.maxLat - area.minLat),
      lon: area.minLon + (0.15 + 0.7 * rng.next()) * (area.maxLon - area.minLon),
    }));
    const concern: number[] = [];
    for (let i = 0; i < population.size; i++) if (population.scoreTenths[i]! < CONCERN_TENTHS) concern.push(i);
    this.concern = Uint32Array.from(concern);
    const disc = Math.PI * SEE_RADIUS_M ** 2;
    const expectedOver = (opts.drones * disc) / Math.max(disc, area.widthM * area.heightM);
    this.seeProbability = Math.min(1, SIGHTINGS_PER_MINUTE / Math.max(expectedOver, 1e-9));
  }

  /** The gathering of a lane's slot (null: none that slot, e.g. no citizen of concern in a tiny population). */
  slot(lane: number, n: number): Gathering | null {
    const key = `${lane}:${n}`;
    let g = this.cache.get(key);
    if (g !== undefined) return g;
    g = this.draw(lane, n);
    if (this.cache.size > 64) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, g);
    return g;
  }

  private draw(lane: number, n: number): Gathering | null {
    if (this.concern.length < 2) return null;
    const rng = new Rng(this.opts.seed, `gathering/${lane}/${n}`);
    const place = this.places[rng.int(this.places.length)]!;
    const slotStart = n * PERIOD_MS + lane * Math.floor(PERIOD_MS / Math.max(1, this.opts.lanes));
    const start = slotStart + rng.int(10) * 60_000;
    const end = start + (15 + rng.int(16)) * 60_000;
    const peak = Math.min(this.concern.length, 6 + rng.int(13));
    const participants = new Uint32Array(peak);
    for (let i = 0; i < peak; i++) {
      let c: number;
      do c = this.concern[rng.int(this.concern.length)]!; while (participants.subarray(0, i).includes(c));
      participants[i] = c;
    }
    // Most gatherings stay put; some march (up to 80 m a minute, a slow walk).
    const speed = rng.next() < 0.5 ? 0 : 20 + 60 * rng.next();
    const heading = 2 * Math.PI * rng.next();
    return {
      place: place.name, lane, start, end, peak, participants, lat: place.lat, lon: place.lon,
      northPerMin: speed * Math.cos(heading), eastPerMin: speed * Math.sin(heading),
    };
  }

  /** Gatherings under way at `t`, with where they are and who is there. */
  activeAt(t: number): { g: Gathering; lat: number; lon: number; present: number }[] {
    const out: { g: Gathering; lat: number; lon: number; present: number }[] = [];
    for (let lane = 0; lane < this.opts.lanes; lane++) {
      const offset = lane * Math.floor(PERIOD_MS / Math.max(1, this.opts.lanes));
      const n = Math.floor((t - offset) / PERIOD_MS);
      const g = this.slot(lane, n);
      if (!g || t < g.start || t >= g.end) continue;
      const minutes = (t - g.start) / 60_000;
      const p = (t - g.start) / (g.end - g.start);
      // Grows over the first 40%, holds, disperses over the last 30%.
      const share = p < 0.4 ? 0.15 + 0.85 * (p / 0.4) : p < 0.7 ? 1 : 1 - (p - 0.7) / 0.3;
      const present = Math.max(1, Math.min(g.peak, Math.ceil(g.peak * share)));
      out.push({
        g, present,
        lat: this.area.clampLat(g.lat + (g.northPerMin * minutes) / this.area.mPerDegLat),
        lon: this.area.clampLon(g.lon + (g.eastPerMin * minutes) / this.area.mPerDegLon),
      });
    }
    return out;
  }

  /** Population indices a drone at (lat, lon) sees at `t` in the gatherings below it (usually none). */
  seenFrom(lat: number, lon: number, t: number, rng: Rng): number[] {
    const seen: number[] = [];
    for (const a of this.activeAt(t)) {
      if (this.area.distanceM(lat, lon, a.lat, a.lon) > SEE_RADIUS_M) continue;
      if (rng.next() >= this.seeProbability) continue;
      for (let i = 0; i < a.present; i++) if (rng.next() < SEEN_SHARE) seen.push(a.g.participants[i]!);
      if (seen.length === 0) seen.push(a.g.participants[0]!);
    }
    return seen;
  }
}
