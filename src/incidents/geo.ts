/** Distances and the grid index of the grouping (metres on a sphere: plenty at the scale of a city). */

const EARTH_RADIUS_M = 6_371_008.8;
const M_PER_DEG_LAT = (Math.PI * EARTH_RADIUS_M) / 180;

export function distanceM(a: { lat: number; lon: number }, b: { lat: number; lon: number }): number {
  const toRad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * toRad;
  const dLon = (b.lon - a.lon) * toRad;
  const s = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * toRad) * Math.cos(b.lat * toRad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_M * Math.asin(Math.min(1, Math.sqrt(s)));
}

/**
 * Grid cells `row:col` of `sizeM` metres: rows by latitude, and within a row columns as wide as `sizeM` at the row's
 * pole-ward edge, so a cell is never narrower than `sizeM` and the cells around a point cover every point within
 * `rings x sizeM` of it. An incident is indexed by its centroid's cell; an alert looks in cellsAround (5 rows of 5 or
 * so: the grouping reaches up to twice its radius from a centroid).
 */
export function cellOf(lat: number, lon: number, sizeM: number): string {
  const dLat = sizeM / M_PER_DEG_LAT;
  const row = Math.floor(lat / dLat);
  return `${row}:${Math.floor(lon / colWidth(row, dLat))}`;
}

export function cellsAround(lat: number, lon: number, sizeM: number, rings = 2): string[] {
  const dLat = sizeM / M_PER_DEG_LAT;
  const row = Math.floor(lat / dLat);
  const cells: string[] = [];
  for (let r = row - rings; r <= row + rings; r++) {
    const w = colWidth(r, dLat);
    // The search half-width in longitude at the worst latitude of the rows.
    const reach = (rings * dLat) / Math.max(0.01, Math.cos((Math.min(Math.abs(lat) + rings * dLat, 89.9) * Math.PI) / 180));
    const from = Math.floor((lon - reach) / w);
    const to = Math.floor((lon + reach) / w);
    for (let c = from; c <= to; c++) cells.push(`${r}:${c}`);
  }
  return cells;
}

function colWidth(row: number, dLat: number): number {
  const edge = Math.max(Math.abs(row * dLat), Math.abs((row + 1) * dLat));
  return dLat / Math.max(0.01, Math.cos((Math.min(edge, 89.9) * Math.PI) / 180));
}
