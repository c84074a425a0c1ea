import type { ZoneGeometry } from './types.ts';

/** A zone prepared for point tests: its bounding box first (most reports are far from most zones), then the rings. */
export interface CompiledZone {
  id: string;
  minLon: number; minLat: number; maxLon: number; maxLat: number;
  /** Polygons; each: outer ring, then holes. Rings as flat [lon0, lat0, lon1, lat1, ...]. */
  polygons: Float64Array[][];
}

export function compileZone(id: string, g: ZoneGeometry): CompiledZone {
  const polys = g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
  let minLon = Infinity, minLat = Infinity, maxLon = -Infinity, maxLat = -Infinity;
  const polygons = polys.map((rings) => rings.map((ring) => {
    const flat = new Float64Array(ring.length * 2);
    ring.forEach((pt, i) => {
      const lon = pt[0]!, lat = pt[1]!;
      flat[2 * i] = lon;
      flat[2 * i + 1] = lat;
      if (lon < minLon) minLon = lon;
      if (lon > maxLon) maxLon = lon;
      if (lat < minLat) minLat = lat;
      if (lat > maxLat) maxLat = lat;
    });
    return flat;
  }));
  return { id, minLon, minLat, maxLon, maxLat, polygons };
}

/**
 * Whether (lat, lon) is inside the zone: inside a polygon's outer ring and in none of its holes (even-odd ray casting
 * on the plane; zones are city-sized, far from the poles and the antimeridian, where that is exact enough).
 */
export function inZone(z: CompiledZone, lat: number, lon: number): boolean {
  if (lon < z.minLon || lon > z.maxLon || lat < z.minLat || lat > z.maxLat) return false;
  for (const rings of z.polygons) {
    if (!inRing(rings[0]!, lat, lon)) continue;
    let inHole = false;
    for (let h = 1; h < rings.length && !inHole; h++) inHole = inRing(rings[h]!, lat, lon);
    if (!inHole) return true;
  }
  return false;
}

function inRing(r: Float64Array, lat: number, lon: number): boolean {
  let inside = false;
  const n = r.length / 2;
  for (let i = 0, j = n - 1; i < n; j = i++) {
    const xi = r[2 * i]!, yi = r[2 * i + 1]!, xj = r[2 * j]!, yj = r[2 * j + 1]!;
    if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
