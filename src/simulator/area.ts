import type { BBox } from './options.ts';

/** Metres per degree of latitude (mean; the variation with latitude is < 1% and irrelevant here). */
const M_PER_DEG_LAT = 111_132;
/** Target side of a grid cell: roughly what a patrol drone's camera covers around it. */
const CELL_SIDE_M = 500;
const MAX_CELLS_PER_SIDE = 256;

/**
 * The patrolled rectangle, with a local flat-earth projection (fine at city scale) and a grid of ~500 m cells used
 * to decide which residents a drone can see.
 */
export class Area {
  readonly minLat: number;
  readonly minLon: number;
  readonly maxLat: number;
  readonly maxLon: number;
  readonly mPerDegLat = M_PER_DEG_LAT;
  readonly mPerDegLon: number;
  readonly widthM: number;
  readonly heightM: number;
  readonly nx: number;
  readonly ny: number;

  constructor(bbox: BBox) {
    [this.minLat, this.minLon, this.maxLat, this.maxLon] = bbox;
    const midLat = (this.minLat + this.maxLat) / 2;
    this.mPerDegLon = 111_320 * Math.cos((midLat * Math.PI) / 180);
    this.widthM = (this.maxLon - this.minLon) * this.mPerDegLon;
    this.heightM = (this.maxLat - this.minLat) * this.mPerDegLat;
    this.nx = Math.min(MAX_CELLS_PER_SIDE, Math.max(1, Math.round(this.widthM / CELL_SIDE_M)));
    this.ny = Math.min(MAX_CELLS_PER_SIDE, Math.max(1, Math.round(this.heightM / CELL_SIDE_M)));
  }

  get cellCount(): number {
    return this.nx * this.ny;
  }

  cellOf(lat: number, lon: number): number {
    let cx = Math.floor(((lon - this.minLon) / (this.maxLon - this.minLon)) * this.nx);
    let cy = Math.floor(((lat - this.minLat) / (this.maxLat - this.minLat)) * this.ny);
    if (cx < 0) cx = 0;
    else if (cx >= this.nx) cx = this.nx - 1;
    if (cy < 0) cy = 0;
    else if (cy >= this.ny) cy = this.ny - 1;
    return cy * this.nx + cx;
  }

  /** Centre of a cell as [lat, lon]. */
  cellCentre(cell: number): [number, number] {
    const cx = cell % this.nx;
    const cy = Math.floor(cell / this.nx);
    return [
      this.minLat + ((cy + 0.5) / this.ny) * (this.maxLat - this.minLat),
      this.minLon + ((cx + 0.5) / this.nx) * (this.maxLon - this.minLon),
    ];
  }

  /** Flat-earth distance in metres, accurate to well under 1% within a city. */
  distanceM(lat1: number, lon1: number, lat2: number, lon2: number): number {
    const dy = (lat2 - lat1) * this.mPerDegLat;
    const dx = (lon2 - lon1) * this.mPerDegLon;
    return Math.sqrt(dx * dx + dy * dy);
  }

  clampLat(lat: number): number {
    return lat < this.minLat ? this.minLat : lat > this.maxLat ? this.maxLat : lat;
  }

  clampLon(lon: number): number {
    return lon < this.minLon ? this.minLon : lon > this.maxLon ? this.maxLon : lon;
  }
}
