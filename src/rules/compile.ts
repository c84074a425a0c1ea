import type { AlertCandidate } from '../alerts/rules.ts';
import { severityRank } from '../alerts/rules.ts';
import type { AlertsConfig } from '../alerts/rules.ts';
import type { AcceptedReport } from '../contract/types.ts';
import type { Severity } from '../alerts/types.ts';
import { compileZone, inZone, type CompiledZone } from './geo.ts';
import type { Rule, RuleSet } from './types.ts';

/** The score rule's id in a rule set made from the configuration: the `rule` alerts carried before rules were data. */
export const CONFIG_SCORE_RULE = 'score-below-threshold';

/** The configuration's `alerts` rules as a rule set: version 1 of every tenant whose store is empty. */
export function ruleSetFromConfig(config: Pick<AlertsConfig, 'threshold' | 'criticalThreshold' | 'wordRules'>): RuleSet {
  const rules: Rule[] = [{ id: CONFIG_SCORE_RULE, kind: 'score', enabled: true, threshold: config.threshold, criticalThreshold: config.criticalThreshold }];
  config.wordRules.forEach((r, i) => rules.push({
    id: `words:${i}`, kind: 'words', enabled: true, words: r.words.map((w) => w.trim().toLowerCase()), threshold: r.threshold ?? config.threshold, severity: r.severity,
  }));
  return { rules, zones: [] };
}

interface Compiled {
  id: string;
  zone: CompiledZone | undefined;
  /** The severity a citizen scoring `score` gets, or undefined when this rule does not fire for them. */
  fire(score: number, citizen: string): Severity | undefined;
  /** Only when one of these words was heard (word rules). */
  words: ReadonlySet<string> | undefined;
}

/** A rule set prepared once per version: evaluating a report does no setup work. */
export interface CompiledRuleSet {
  readonly version: number;
  /** A report whose citizens all score at or above this cannot alert (Infinity when a zone-entry rule is enabled). */
  readonly maxThreshold: number;
  readonly zones: ReadonlyMap<string, CompiledZone>;
  readonly rules: readonly Compiled[];
}

export function compileRuleSet(set: RuleSet, version: number): CompiledRuleSet {
  const zones = new Map(set.zones.map((z) => [z.id, compileZone(z.id, z.geometry)]));
  const rules: Compiled[] = [];
  let maxThreshold = 0;
  for (const r of set.rules) {
    if (!r.enabled) continue;
    const zone = r.zone === undefined ? undefined : zones.get(r.zone);
    switch (r.kind) {
      case 'score':
        maxThreshold = Math.max(maxThreshold, r.threshold);
        rules.push({ id: r.id, zone, words: undefined, fire: (s) => (s < r.threshold ? (s < r.criticalThreshold ? 'critical' : 'warning') : undefined) });
        break;
      case 'words':
        maxThreshold = Math.max(maxThreshold, r.threshold);
        rules.push({ id: r.id, zone, words: new Set(r.words), fire: (s) => (s < r.threshold ? r.severity : undefined) });
        break;
      case 'zone-entry': {
        maxThreshold = Infinity;
        const who = new Set(r.citizens);
        rules.push({ id: r.id, zone, words: undefined, fire: (_s, c) => (who.has(c) ? r.severity : undefined) });
        break;
      }
    }
  }
  return { version, maxThreshold, zones, rules };
}

const NONE: readonly AlertCandidate[] = Object.freeze([]);

/**
 * Evaluates one report against a rule set. Pure. The same contract as the configuration's rules
 * (src/alerts/rules.ts evaluateReport), of which it is the generalisation: at most one candidate per citizen, the
 * highest severity wins, ties go to the rule listed first; a name listed twice is one person (lowest score). A rule
 * with a zone applies only to reports whose position is inside it. Candidates carry the version.
 */
export function evaluateRuleSet(report: AcceptedReport, rs: CompiledRuleSet): readonly AlertCandidate[] {
  const citizens = report.citizens;
  let any = false;
  for (let i = 0; i < citizens.length && !any; i++) any = citizens[i]!.score < rs.maxThreshold;
  if (!any) return NONE;
  const { lat, lon } = report.position;
  let heard: Set<string> | undefined;
  const applicable = rs.rules.filter((r) => {
    if (r.zone && !inZone(r.zone, lat, lon)) return false;
    if (r.words) {
      heard ??= new Set(report.words.map((w) => String(w).trim().toLowerCase()));
      for (const w of heard) if (r.words.has(w)) return true;
      return false;
    }
    return true;
  });
  if (applicable.length === 0) return NONE;
  let out: AlertCandidate[] | undefined;
  for (const c of citizens) {
    if (!(c.score < rs.maxThreshold) || typeof c.name !== 'string') continue;
    let best: AlertCandidate | undefined;
    for (const r of applicable) {
      const sev = r.fire(c.score, c.name);
      if (sev === undefined) continue;
      if (!best || severityRank(sev) > severityRank(best.severity)) best = { citizen: c.name, score: c.score, severity: sev, rule: r.id, ruleVersion: rs.version };
    }
    if (!best) continue;
    out ??= [];
    const dup = out.findIndex((o) => o.citizen === best.citizen);
    if (dup < 0) out.push(best);
    else {
      const a = out[dup]!;
      const top = severityRank(best.severity) > severityRank(a.severity) ? best : a;
      out[dup] = { ...top, score: Math.min(a.score, best.score) };
    }
  }
  return out ?? NONE;
}

/** Ids of the zones of `rs` containing the point (dry-run counts per zone, silences by zone). */
export function zonesAt(rs: CompiledRuleSet, lat: number, lon: number): string[] {
  const out: string[] = [];
  for (const z of rs.zones.values()) if (inZone(z, lat, lon)) out.push(z.id);
  return out;
}
