import { randomBytes } from 'node:crypto';
import type { AlertsConfig } from '../alerts/rules.ts';
import { DwError } from '../errors/index.ts';
import { ruleSetFromConfig } from './compile.ts';
import { RulesConflictError, type RuleStore } from './store.ts';
import type { Rule, RuleSet, RuleSetVersion, Silence, Zone } from './types.ts';
import { checkReason, checkRuleSet, checkSilenceInput } from './validate.ts';
import { checkPeriod, dryRun, type DryRunResult } from './dry-run.ts';
import type { AnalysisApi } from '../server/types.ts';
import type { GroupingConfig } from '../incidents/config.ts';

export class RuleNotFoundError extends DwError {
  constructor(id: string) {
    super('DW_RULE_NOT_FOUND', `no rule "${id}" in the rules in force`, { status: 404 });
  }
}

/**
 * The configuration's rules (version 1 of every tenant), and what a dry run folds alerts and groups incidents with
 * (alerts.dedupWindowMs, the incidents section): the workers' own settings, so a replay groups as they do.
 */
export type RulesConfig = Pick<AlertsConfig, 'threshold' | 'criticalThreshold' | 'wordRules'> & { dedupWindowMs?: number; grouping?: GroupingConfig };
export const SYSTEM_AUTHOR = 'system';
export const SEED_REASON = "the configuration's alerts rules (alerts.threshold, criticalThreshold, wordRules)";

/**
 * What the API and the CLI do with rules: read the version in force, write new versions (the whole set, one rule, a
 * rule disabled), and silences. Validation and the version check live here, once; the caller audits.
 */
export class RuleService {
  constructor(readonly store: RuleStore, private readonly config: RulesConfig) {}

  /** The version in force; an empty store gets the configuration's rules as version 1 first. */
  async current(tenant: string): Promise<RuleSetVersion> {
    const cur = await this.store.current(tenant);
    if (cur) return cur;
    return seedVersion(this.store, tenant, this.config);
  }

  async version(tenant: string, version: number): Promise<RuleSetVersion> {
    await this.current(tenant);
    const v = (await this.store.versions(tenant)).find((x) => x.version === version);
    if (!v) throw new DwError('DW_NOT_FOUND', `no version ${version} of the rules`, { status: 404 });
    return v;
  }

  async versions(tenant: string): Promise<RuleSetVersion[]> {
    await this.current(tenant);
    return this.store.versions(tenant);
  }

  /** A whole new rule set. `baseVersion`: refuse (409) unless it is still the version in force. */
  async apply(tenant: string, input: unknown, meta: { author: string; reason: unknown; baseVersion?: number | undefined }): Promise<RuleSetVersion> {
    const set = checkRuleSet(input);
    const reason = checkReason(meta.reason);
    const cur = await this.current(tenant);
    if (meta.baseVersion !== undefined && meta.baseVersion !== cur.version) throw new RulesConflictError(tenant, meta.baseVersion, cur.version);
    return this.store.commit(tenant, cur.version, set, { author: meta.author, reason });
  }

  /** Adds or replaces one rule (and the zones given with it, by id). */
  async putRule(tenant: string, id: string, rule: unknown, zones: unknown, meta: { author: string; reason: unknown; baseVersion?: number | undefined }): Promise<RuleSetVersion> {
    const cur = await this.current(tenant);
    const r = typeof rule === 'object' && rule !== null ? { ...(rule as Record<string, unknown>), id } : rule;
    const extra = Array.isArray(zones) ? (zones as Zone[]) : [];
    const keep = cur.zones.filter((z) => !extra.some((e) => typeof e === 'object' && e !== null && e.id === z.id));
    const at = cur.rules.findIndex((x) => x.id === id);
    const rules: unknown[] = cur.rules.slice();
    if (at < 0) rules.push(r);
    else rules[at] = r;
    return this.apply(tenant, { rules, zones: [...keep, ...extra] }, { ...meta, baseVersion: meta.baseVersion ?? cur.version });
  }

  /** Disables a rule: a new version in which it is kept but never fires. */
  async disableRule(tenant: string, id: string, meta: { author: string; reason: unknown; baseVersion?: number | undefined }): Promise<RuleSetVersion> {
    const cur = await this.current(tenant);
    if (!cur.rules.some((x) => x.id === id)) throw new RuleNotFoundError(id);
    const rules: Rule[] = cur.rules.map((x) => (x.id === id ? { ...x, enabled: false } : x));
    return this.apply(tenant, { rules, zones: cur.zones }, { ...meta, baseVersion: meta.baseVersion ?? cur.version });
  }

  /**
   * What `input`'s rules would have raised over the lake's reports of [from, to), next to the rules in force
   * (src/rules/dry-run.ts). Writes nothing, announces nothing.
   */
  async dryRun(analysis: Pick<AnalysisApi, 'exportCursor' | 'limits' | 'query'>, tenant: string, input: { rules: unknown; zones?: unknown; from: string; to: string },
    opts: { signal?: AbortSignal; onProgress?: (replayed: number) => void } = {}): Promise<DryRunResult> {
    const proposed = checkRuleSet({ rules: input.rules, zones: input.zones ?? [] });
    const from = new Date(input.from);
    const to = new Date(input.to);
    checkPeriod(from, to);
    const cur = await this.current(tenant);
    if (this.config.dedupWindowMs === undefined) throw new TypeError('dry run: the service was opened without alerts.dedupWindowMs');
    if (this.config.grouping === undefined) throw new TypeError('dry run: the service was opened without the incidents grouping');
    return dryRun(analysis, {
      tenant, from, to, proposed, inForce: { set: cur, version: cur.version }, dedupWindowMs: this.config.dedupWindowMs, grouping: this.config.grouping,
      ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    });
  }

  listSilences(tenant: string): Promise<Silence[]> {
    return this.store.silences(tenant);
  }

  async addSilence(tenant: string, input: unknown, author: string, now = Date.now()): Promise<Silence> {
    const s = checkSilenceInput(input, now);
    return this.store.addSilence({ id: randomBytes(8).toString('hex'), tenant, ...s, author, createdAt: new Date(now).toISOString() });
  }

  removeSilence(tenant: string, id: string): Promise<Silence> {
    return this.store.removeSilence(tenant, id);
  }
}

/**
 * Writes the configuration's rules as version 1 of a tenant whose store is empty. Every process computes the same
 * set from the same configuration: when two seed at once, one writes and the other reads what it wrote.
 */
export async function seedVersion(store: RuleStore, tenant: string, config: RulesConfig): Promise<RuleSetVersion> {
  const set: RuleSet = ruleSetFromConfig(config);
  try {
    return await store.commit(tenant, 0, set, { author: SYSTEM_AUTHOR, reason: SEED_REASON });
  } catch (e) {
    if (!(e instanceof RulesConflictError)) throw e;
    // A shared store's copy hears of the other writer's version a moment later.
    for (let i = 0; i < 40; i++) {
      const cur = await store.current(tenant);
      if (cur) return cur;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw e;
  }
}
