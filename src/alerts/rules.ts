import type { Config } from '../config/schema.ts';
import type { AcceptedReport } from '../contract/types.ts';
import type { Severity } from './types.ts';

export type AlertsConfig = Config['alerts'];

/** What a rule says about one citizen of one report; the store turns it into a new or updated alert. */
export interface AlertCandidate {
  citizen: string;
  score: number;
  severity: Severity;
  /** `score-below-threshold` or `words:<rule index>` (index in `alerts.wordRules`), or a rule set's rule id (src/rules/). */
  rule: string;
  /** The rule set version that raised it (absent: the configuration's rules, before rules were data). */
  ruleVersion?: number;
  /** Id of the silence this sighting falls under: stored, never announced (src/rules/, docs/alerts.md "Silences"). */
  silence?: string;
}

/**
 * Where the alert worker gets its rules when they are data (src/rules/RuleBook): per tenant, newest version, changed
 * while the worker runs. Without one the worker evaluates the configuration's rules.
 */
export interface RuleSource {
  /** Highest threshold of any tenant's rules in force (the worker's no-parse fast path); Infinity disables it. */
  maxThreshold(): number;
  /** The candidates of one report, each with the version that raised it and the silence it falls under, if any. */
  evaluate(report: AcceptedReport): readonly AlertCandidate[];
}

export const SCORE_RULE = 'score-below-threshold';

const SEVERITY_RANK: Record<Severity, number> = { info: 0, warning: 1, critical: 2 };

export function severityRank(s: Severity): number {
  return SEVERITY_RANK[s];
}

interface CompiledWordRule {
  rule: string;
  /** Lower-cased words; reports' words are compared case-insensitively. */
  words: ReadonlySet<string>;
  threshold: number;
  severity: Severity;
}

/** Rules prepared once from the config so evaluating a report does no setup work. */
export interface CompiledRules {
  readonly threshold: number;
  readonly criticalThreshold: number;
  readonly wordRules: readonly CompiledWordRule[];
  /** The highest threshold of any rule: a report whose citizens all score at or above it cannot alert. */
  readonly maxThreshold: number;
}

export function compileRules(config: Pick<AlertsConfig, 'threshold' | 'criticalThreshold' | 'wordRules'>): CompiledRules {
  const wordRules = config.wordRules.map((r, i) => ({
    rule: `words:${i}`,
    words: new Set(r.words.map((w) => w.trim().toLowerCase())),
    threshold: r.threshold ?? config.threshold,
    severity: r.severity,
  }));
  const maxThreshold = wordRules.reduce((m, r) => Math.max(m, r.threshold), config.threshold);
  return { threshold: config.threshold, criticalThreshold: config.criticalThreshold, wordRules, maxThreshold };
}

/** Shared result for the common case (nothing to alert): the hot path allocates nothing for it. */
const NONE: readonly AlertCandidate[] = Object.freeze([]);

/**
 * Evaluates one report. Pure: same report and rules, same answer.
 *
 * - Score rule: a citizen scoring strictly below `threshold` alerts; `critical` below `criticalThreshold`, else `warning`.
 * - Word rule: when any of its words is heard (case-insensitive), each citizen strictly below the rule's threshold
 *   alerts with the rule's severity. A word rule may use a threshold above the global one (lower the bar when
 *   alarming words are heard) or below it (only very low scores matter for that rule).
 * - At most one candidate per citizen name: the highest severity wins (ties: the score rule, then the first word rule).
 *   A name listed twice in one report is one person: the lowest score counts.
 */
export function evaluateReport(report: AcceptedReport, rules: CompiledRules): readonly AlertCandidate[] {
  const citizens = report.citizens;
  const max = rules.maxThreshold;
  let any = false;
  for (let i = 0; i < citizens.length; i++) {
    if (citizens[i]!.score < max) {
      any = true;
      break;
    }
  }
  if (!any) return NONE;

  const fired = firedWordRules(report.words, rules.wordRules);
  let out: AlertCandidate[] | undefined;
  for (const c of citizens) {
    if (!(c.score < max) || typeof c.name !== 'string') continue;
    const best = bestCandidate(c.name, c.score, rules, fired);
    if (!best) continue;
    out ??= [];
    const dup = out.findIndex((o) => o.citizen === best.citizen);
    if (dup < 0) out.push(best);
    else out[dup] = mergeSameCitizen(out[dup]!, best);
  }
  return out ?? NONE;
}

function firedWordRules(words: readonly string[], wordRules: readonly CompiledWordRule[]): readonly CompiledWordRule[] {
  if (wordRules.length === 0 || words.length === 0) return NONE as readonly never[];
  const heard = words.map((w) => String(w).trim().toLowerCase());
  return wordRules.filter((r) => heard.some((w) => r.words.has(w)));
}

function bestCandidate(citizen: string, score: number, rules: CompiledRules, fired: readonly CompiledWordRule[]): AlertCandidate | undefined {
  let best: AlertCandidate | undefined;
  if (score < rules.threshold) {
    best = { citizen, score, severity: score < rules.criticalThreshold ? 'critical' : 'warning', rule: SCORE_RULE };
  }
  for (const r of fired) {
    if (!(score < r.threshold)) continue;
    if (!best || SEVERITY_RANK[r.severity] > SEVERITY_RANK[best.severity]) best = { citizen, score, severity: r.severity, rule: r.rule };
  }
  return best;
}

function mergeSameCitizen(a: AlertCandidate, b: AlertCandidate): AlertCandidate {
  const top = SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a;
  return { ...top, score: Math.min(a.score, b.score) };
}
