import { DwError, type FieldError } from '../errors/index.ts';
import type { Severity } from '../alerts/types.ts';
import type { Rule, RuleSet, Silence, SilenceInput, Zone, ZoneGeometry } from './types.ts';

/** Ids of rules and zones: what `alert.rule` and silences name, so kept plain. `:` allows the config's `words:0`. */
export const RULE_ID = /^[a-z0-9][a-z0-9:_-]{0,63}$/;
export const LIMITS = { rules: 200, zones: 100, pointsPerZone: 10_000, words: 200, citizens: 1000, reason: 500, name: 200 } as const;
const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export class RulesInvalidError extends DwError {
  constructor(errors: FieldError[]) {
    super('DW_RULES_INVALID', errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; '), { status: 400, details: errors });
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= 100;

/**
 * Checks a proposed rule set and returns it normalised (`enabled` defaults to true, words lower-cased). Every problem
 * is reported with its field, not only the first: an officer fixing a file sees them all at once.
 */
export function checkRuleSet(input: unknown): RuleSet {
  const errors: FieldError[] = [];
  const err = (field: string, reason: string): void => { errors.push({ field, reason }); };
  if (!isObj(input)) throw new RulesInvalidError([{ field: '', reason: 'must be an object with rules and zones' }]);
  const zonesIn = input.zones ?? [];
  const rulesIn = input.rules;
  const zones: Zone[] = [];
  if (!Array.isArray(zonesIn)) err('zones', 'must be an array');
  else if (zonesIn.length > LIMITS.zones) err('zones', `at most ${LIMITS.zones} zones`);
  else zonesIn.forEach((z: unknown, i) => { const c = checkZone(z, `zones[${i}]`, err); if (c) zones.push(c); });
  const zoneIds = new Set<string>();
  zones.forEach((z, i) => { if (zoneIds.has(z.id)) err(`zones[${i}].id`, `"${z.id}" is used twice`); zoneIds.add(z.id); });

  const rules: Rule[] = [];
  if (!Array.isArray(rulesIn)) err('rules', 'must be an array');
  else if (rulesIn.length > LIMITS.rules) err('rules', `at most ${LIMITS.rules} rules`);
  else rulesIn.forEach((r: unknown, i) => { const c = checkRule(r, `rules[${i}]`, zoneIds, err); if (c) rules.push(c); });
  const ruleIds = new Set<string>();
  rules.forEach((r, i) => { if (ruleIds.has(r.id)) err(`rules[${i}].id`, `"${r.id}" is used twice`); ruleIds.add(r.id); });
  if (errors.length > 0) throw new RulesInvalidError(errors);
  return { rules, zones };
}

function checkZone(z: unknown, at: string, rawErr: (f: string, r: string) => void): Zone | undefined {
  let bad = false;
  const err = (f: string, reason: string): void => { bad = true; rawErr(f, reason); };
  if (!isObj(z)) return err(at, 'must be an object'), undefined;
  if (typeof z.id !== 'string' || !RULE_ID.test(z.id)) err(`${at}.id`, 'must be 1-64 characters: a-z, 0-9, -, _ and :');
  if (z.name !== undefined && (typeof z.name !== 'string' || z.name.length > LIMITS.name)) err(`${at}.name`, `must be a string of at most ${LIMITS.name} characters`);
  const g = z.geometry;
  if (!isObj(g) || (g.type !== 'Polygon' && g.type !== 'MultiPolygon')) {
    err(`${at}.geometry`, 'must be a GeoJSON Polygon or MultiPolygon');
  } else {
    const polygons = g.type === 'Polygon' ? [g.coordinates] : Array.isArray(g.coordinates) ? g.coordinates : [undefined];
    if (g.type === 'MultiPolygon' && polygons.length === 0) err(`${at}.geometry.coordinates`, 'must hold at least one polygon');
    let points = 0;
    polygons.forEach((p: unknown, pi) => {
      const where = g.type === 'Polygon' ? `${at}.geometry.coordinates` : `${at}.geometry.coordinates[${pi}]`;
      if (!Array.isArray(p) || p.length === 0) return err(where, 'must be an array of linear rings');
      p.forEach((ring: unknown, ri) => {
        if (!Array.isArray(ring) || ring.length < 4) return err(`${where}[${ri}]`, 'a ring needs at least 4 positions (closed)');
        for (const [k, pt] of ring.entries()) {
          if (!Array.isArray(pt) || pt.length < 2 || !isLon(pt[0]) || !isLat(pt[1])) return err(`${where}[${ri}][${k}]`, 'must be [lon, lat] with -180 <= lon <= 180, -90 <= lat <= 90');
        }
        const a = ring[0] as number[];
        const b = ring[ring.length - 1] as number[];
        if (a[0] !== b[0] || a[1] !== b[1]) err(`${where}[${ri}]`, 'ring not closed: the last position must equal the first');
        points += ring.length;
      });
    });
    if (points > LIMITS.pointsPerZone) err(`${at}.geometry`, `at most ${LIMITS.pointsPerZone} positions per zone`);
  }
  if (bad) return undefined;
  return { id: z.id as string, name: typeof z.name === 'string' ? z.name : (z.id as string), geometry: g as ZoneGeometry };
}

const isLon = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= -180 && v <= 180;
const isLat = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= -90 && v <= 90;

function checkRule(r: unknown, at: string, zoneIds: ReadonlySet<string>, rawErr: (f: string, r: string) => void): Rule | undefined {
  let bad = false;
  const err = (f: string, reason: string): void => { bad = true; rawErr(f, reason); };
  if (!isObj(r)) return err(at, 'must be an object'), undefined;
  if (typeof r.id !== 'string' || !RULE_ID.test(r.id)) err(`${at}.id`, 'must be 1-64 characters: a-z, 0-9, -, _ and :');
  if (r.enabled !== undefined && typeof r.enabled !== 'boolean') err(`${at}.enabled`, 'must be true or false');
  const zone = r.zone;
  if (zone !== undefined && (typeof zone !== 'string' || !zoneIds.has(zone))) err(`${at}.zone`, `no zone "${String(zone)}" in zones`);
  const severity = (): void => { if (!SEVERITIES.includes(r.severity as Severity)) err(`${at}.severity`, 'must be info, warning or critical'); };
  const list = (name: 'words' | 'citizens', max: number): void => {
    const v = r[name];
    if (!Array.isArray(v) || v.length === 0 || v.length > max || !v.every((w) => typeof w === 'string' && w.trim() !== '' && w.length <= 200)) {
      err(`${at}.${name}`, `must be 1-${max} non-empty strings`);
    }
  };
  const enabled = r.enabled !== false;
  switch (r.kind) {
    case 'score':
      if (!isScore(r.threshold)) err(`${at}.threshold`, 'must be a number from 0 to 100');
      if (!isScore(r.criticalThreshold)) err(`${at}.criticalThreshold`, 'must be a number from 0 to 100');
      else if (isScore(r.threshold) && r.criticalThreshold > r.threshold) err(`${at}.criticalThreshold`, 'must be <= threshold');
      if (bad) return undefined;
      return { id: r.id as string, kind: 'score', enabled, threshold: r.threshold as number, criticalThreshold: r.criticalThreshold as number, ...(zone ? { zone: zone as string } : {}) };
    case 'words':
      list('words', LIMITS.words);
      if (!isScore(r.threshold)) err(`${at}.threshold`, 'must be a number from 0 to 100');
      severity();
      if (bad) return undefined;
      return {
        id: r.id as string, kind: 'words', enabled, words: (r.words as string[]).map((w) => w.trim().toLowerCase()),
        threshold: r.threshold as number, severity: r.severity as Severity, ...(zone ? { zone: zone as string } : {}),
      };
    case 'zone-entry':
      list('citizens', LIMITS.citizens);
      if (zone === undefined) err(`${at}.zone`, 'required: the zone the persons of concern must not enter');
      severity();
      if (bad) return undefined;
      return { id: r.id as string, kind: 'zone-entry', enabled, citizens: (r.citizens as string[]).slice(), zone: zone as string, severity: r.severity as Severity };
    default:
      err(`${at}.kind`, 'must be score, words or zone-entry');
      return undefined;
  }
}

/** Checks a new silence; `now` fills a missing start. */
export function checkSilenceInput(input: unknown, now: number): SilenceInput & { startsAt: string } {
  const errors: FieldError[] = [];
  if (!isObj(input)) throw new RulesInvalidError([{ field: '', reason: 'must be an object' }]);
  const m = input.match;
  if (!isObj(m) || !['zone', 'drone', 'citizen'].includes(m.kind as string) || typeof m.value !== 'string' || m.value === '' || m.value.length > 200) {
    errors.push({ field: 'match', reason: 'must be { kind: zone | drone | citizen, value: a non-empty string }' });
  }
  const start = input.startsAt === undefined ? now : Date.parse(String(input.startsAt));
  const end = Date.parse(String(input.endsAt));
  if (!Number.isFinite(start)) errors.push({ field: 'startsAt', reason: 'must be an ISO 8601 time' });
  if (!Number.isFinite(end)) errors.push({ field: 'endsAt', reason: 'required: an ISO 8601 time' });
  else if (Number.isFinite(start) && end <= start) errors.push({ field: 'endsAt', reason: 'must be after startsAt' });
  if (typeof input.reason !== 'string' || input.reason.trim() === '' || input.reason.length > LIMITS.reason) errors.push({ field: 'reason', reason: `required: 1-${LIMITS.reason} characters` });
  if (errors.length > 0) throw new RulesInvalidError(errors);
  return { match: { kind: (m as Obj).kind as Silence['match']['kind'], value: (m as Obj).value as string }, startsAt: new Date(start).toISOString(), endsAt: new Date(end).toISOString(), reason: input.reason as string };
}

/** The reason of a change: required, so the history says why. */
export function checkReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > LIMITS.reason) throw new RulesInvalidError([{ field: 'reason', reason: `required: 1-${LIMITS.reason} characters (why the rules change)` }]);
  return reason;
}
