/**
 * The rules page's edits as rule sets: a new zone and the rule it carries, or an existing zone's new shape, applied to
 * the version in force. Pure functions (no DOM, no requests), so the page stays about display and the proposed set is
 * the same for "save" and "try on last week".
 */
import type { Rule, RuleSet, Severity, Zone } from '../lib/types.ts';

/** A point as Leaflet has it: [lat, lon]. GeoJSON (the API) says [lon, lat]. */
export type LatLon = [number, number];

/** What a new zone does: a stricter score threshold inside, an entry alert for named people, a words rule inside. */
export type ZoneAction = 'score' | 'zone-entry' | 'words';

/** The new-zone form, as typed (numbers as text: the server, not the page, says what is wrong with them). */
export interface ZoneForm {
  name: string;
  action: ZoneAction;
  threshold: string;
  criticalThreshold: string;
  severity: Severity;
  /** One name per line. */
  citizens: string;
  /** Separated by commas or lines. */
  words: string;
}

export const EMPTY_FORM: ZoneForm = { name: '', action: 'score', threshold: '40', criticalThreshold: '5', severity: 'warning', citizens: '', words: '' };

/** Coordinates kept to 6 decimals (~0.1 m): what a click on a map can mean, and a readable GeoJSON file. */
const round6 = (v: number): number => Math.round(v * 1e6) / 1e6;

/** Points of a drawn shape as a closed GeoJSON ring ([lon, lat], last = first). */
export function toRing(points: readonly LatLon[]): number[][] {
  const ring = points.map(([lat, lon]) => [round6(lon), round6(lat)]);
  if (ring.length > 0) ring.push([...ring[0]!]);
  return ring;
}

/** The outer ring of a zone's first polygon as [lat, lon] points, without the closing repeat: what the editor moves. */
export function outerPoints(z: Zone): LatLon[] {
  const ring = z.geometry.type === 'Polygon' ? z.geometry.coordinates[0] : z.geometry.coordinates[0]?.[0];
  const pts = (ring ?? []).map((p): LatLon => [p[1]!, p[0]!]);
  const a = pts[0];
  const b = pts[pts.length - 1];
  if (pts.length > 1 && a && b && a[0] === b[0] && a[1] === b[1]) pts.pop();
  return pts;
}

/** Every ring of a zone as Leaflet lat/lon arrays (polygons, each rings): how the map draws it. */
export function zoneLatLngs(z: Zone): LatLon[][][] {
  const polys = z.geometry.type === 'Polygon' ? [z.geometry.coordinates] : z.geometry.coordinates;
  return polys.map((rings) => rings.map((ring) => ring.map((p): LatLon => [p[1]!, p[0]!])));
}

/** "Place de la Concorde" -> "place-de-la-concorde": ids are a-z, 0-9, - (src/rules/validate.ts, RULE_ID). */
export function slug(name: string): string {
  const s = name.normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50);
  return s || 'zone';
}

function uniqueId(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base;
  for (let i = 2; ; i++) if (!taken.has(`${base}-${i}`)) return `${base}-${i}`;
}

const list = (text: string, sep: RegExp): string[] => text.split(sep).map((s) => s.trim()).filter((s) => s !== '');
/** A number as typed; what is not one goes as null, which the server refuses naming the field. */
const num = (text: string): number | null => (text.trim() === '' || !Number.isFinite(Number(text)) ? null : Number(text));

/** The rule a new zone carries, as the API takes it (not checked here: the server's answer names what is wrong). */
export function ruleFor(form: ZoneForm, id: string, zone: string): Record<string, unknown> {
  switch (form.action) {
    case 'score':
      return { id, kind: 'score', enabled: true, threshold: num(form.threshold), criticalThreshold: num(form.criticalThreshold), zone };
    case 'zone-entry':
      return { id, kind: 'zone-entry', enabled: true, citizens: list(form.citizens, /\r?\n/), zone, severity: form.severity };
    case 'words':
      return { id, kind: 'words', enabled: true, words: list(form.words, /[,\n]/), threshold: num(form.threshold), severity: form.severity, zone };
  }
}

/** Where a new zone and its rule land in the proposed set: the server's field names point there. */
export interface Placed { set: RuleSet; ruleIndex: number; zoneIndex: number; zoneId: string; ruleId: string }

/** The rules in force plus a new zone (`points`) and its rule. */
export function withNewZone(cur: RuleSet, points: readonly LatLon[], form: ZoneForm): Placed {
  const zoneId = uniqueId(slug(form.name), new Set(cur.zones.map((z) => z.id)));
  const ruleId = uniqueId(`${form.action === 'zone-entry' ? 'entry' : form.action}-${zoneId}`, new Set(cur.rules.map((r) => r.id)));
  const zone: Zone = { id: zoneId, name: form.name.trim() || zoneId, geometry: { type: 'Polygon', coordinates: [toRing(points)] } };
  const rule = ruleFor(form, ruleId, zoneId) as unknown as Rule;
  return { set: { rules: [...cur.rules, rule], zones: [...cur.zones, zone] }, ruleIndex: cur.rules.length, zoneIndex: cur.zones.length, zoneId, ruleId };
}

/** The rules in force with zone `zoneId`'s outer ring replaced by `points` (its holes and other polygons kept). */
export function withZoneShape(cur: RuleSet, zoneId: string, points: readonly LatLon[]): Placed {
  const zoneIndex = cur.zones.findIndex((z) => z.id === zoneId);
  const zones = cur.zones.map((z): Zone => {
    if (z.id !== zoneId) return z;
    const ring = toRing(points);
    return z.geometry.type === 'Polygon'
      ? { ...z, geometry: { type: 'Polygon', coordinates: [ring, ...z.geometry.coordinates.slice(1)] } }
      : { ...z, geometry: { type: 'MultiPolygon', coordinates: z.geometry.coordinates.map((p, i) => (i === 0 ? [ring, ...p.slice(1)] : p)) } };
  });
  return { set: { rules: cur.rules, zones }, ruleIndex: -1, zoneIndex, zoneId, ruleId: '' };
}

/**
 * The form field a server-named field belongs to: `rules[3].threshold` (DW_RULES_INVALID) and `rules.3.threshold`
 * (a schema refusal, DW_REQUEST_INVALID) are the new rule's threshold when the new rule is rules[3]; `zones[k].name`
 * the zone's name; `zones[k].geometry...` the shape. Anything else: the form as a whole.
 */
export function formField(serverField: string, placed: Pick<Placed, 'ruleIndex' | 'zoneIndex'>): string {
  const f = serverField.replace(/\[(\d+)\]/g, '.$1');
  if (f === 'reason') return 'reason';
  const rule = new RegExp(`^rules\\.${placed.ruleIndex}\\.(\\w+)`).exec(f);
  if (placed.ruleIndex >= 0 && rule) return rule[1] === 'zone' ? 'name' : rule[1]!;
  const zone = new RegExp(`^zones\\.${placed.zoneIndex}\\.(\\w+)`).exec(f);
  if (zone) return zone[1] === 'geometry' ? 'shape' : zone[1] === 'id' ? 'name' : zone[1]!;
  return 'form';
}
