import type { AlertCandidate, RuleSource } from '../alerts/rules.ts';
import type { AcceptedReport } from '../contract/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { inZone } from './geo.ts';
import { compileRuleSet, evaluateRuleSet, ruleSetFromConfig, type CompiledRuleSet } from './compile.ts';
import { seedVersion, type RulesConfig } from './service.ts';
import type { RuleStore, RuleStoreChange } from './store.ts';
import type { Silence } from './types.ts';

interface ActiveSilence { id: string; kind: Silence['match']['kind']; value: string; from: number; to: number }

/**
 * The rules an alert worker evaluates: per tenant, the newest version of the store, compiled once per version, and
 * the tenant's silences. It follows the store, so a change made by any process is in force here within the store's
 * delivery time (SQLite: a 250 ms poll; NATS/Kafka: the bucket's push) with no restart. A tenant without any version
 * yet is evaluated with the configuration's rules as version 1, which the book also writes to the store (the version
 * named by the alerts must exist).
 */
export class RuleBook implements RuleSource {
  private readonly compiled = new Map<string, CompiledRuleSet>();
  private readonly silences = new Map<string, Map<string, ActiveSilence>>();
  private readonly fallback: CompiledRuleSet;
  private readonly seeding = new Set<string>();
  private max: number;
  private following: { stop(): void } | undefined;
  private readonly logger: Logger;
  /** Called after a new version is in force here (tests and logs). */
  onVersion: ((tenant: string, version: number) => void) | undefined;

  constructor(private readonly store: RuleStore, private readonly config: RulesConfig, opts: { logger?: Logger } = {}) {
    this.fallback = compileRuleSet(ruleSetFromConfig(config), 1);
    this.max = this.fallback.maxThreshold;
    this.logger = opts.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    this.following ??= await this.store.follow((c) => this.apply(c));
  }

  stop(): void {
    this.following?.stop();
    this.following = undefined;
  }

  /** The version in force for a tenant (1 until the store has one). */
  versionOf(tenant: string): number {
    return this.compiled.get(tenant)?.version ?? 1;
  }

  private apply(c: RuleStoreChange): void {
    if (c.kind === 'version') {
      const v = c.version;
      if ((this.compiled.get(v.tenant)?.version ?? 0) >= v.version) return;
      this.compiled.set(v.tenant, compileRuleSet(v, v.version));
      this.max = Math.max(this.fallback.maxThreshold, ...[...this.compiled.values()].map((x) => x.maxThreshold));
      this.logger.info({ tenant: v.tenant, version: v.version, author: v.author }, 'alert rules: new version in force');
      this.onVersion?.(v.tenant, v.version);
    } else if (c.kind === 'silence') {
      const s = c.silence;
      const m = this.silences.get(s.tenant) ?? new Map<string, ActiveSilence>();
      m.set(s.id, { id: s.id, kind: s.match.kind, value: s.match.value, from: Date.parse(s.startsAt), to: Date.parse(s.endsAt) });
      this.silences.set(s.tenant, m);
    } else {
      this.silences.get(c.tenant)?.delete(c.id);
    }
  }

  maxThreshold(): number {
    return this.max;
  }

  evaluate(report: AcceptedReport): readonly AlertCandidate[] {
    let rs = this.compiled.get(report.tenant);
    if (!rs) {
      rs = this.fallback;
      this.seed(report.tenant);
    }
    const out = evaluateRuleSet(report, rs);
    if (out.length === 0) return out;
    const silences = this.silences.get(report.tenant);
    if (!silences || silences.size === 0) return out;
    const now = Date.now();
    return out.map((c) => {
      const s = this.silenceOf(silences, rs, report, c.citizen, now);
      return s === undefined ? c : { ...c, silence: s };
    });
  }

  /**
   * The silence a sighting falls under, if any: one in force now, when the alert would be announced. The time is the
   * platform's, not the report's: a silence says "do not tell us during this window", and a report stamped a minute
   * earlier by its drone (or backfilled) is announced now.
   */
  private silenceOf(silences: ReadonlyMap<string, ActiveSilence>, rs: CompiledRuleSet, report: AcceptedReport, citizen: string, now: number): string | undefined {
    for (const s of silences.values()) {
      if (now < s.from || now >= s.to) continue;
      if (s.kind === 'drone' && s.value === report.droneId) return s.id;
      if (s.kind === 'citizen' && s.value === citizen) return s.id;
      if (s.kind === 'zone') {
        const z = rs.zones.get(s.value);
        if (z && inZone(z, report.position.lat, report.position.lon)) return s.id;
      }
    }
    return undefined;
  }

  private seed(tenant: string): void {
    if (this.seeding.has(tenant)) return;
    this.seeding.add(tenant);
    seedVersion(this.store, tenant, this.config).then((v) => this.apply({ kind: 'version', version: v }), (err: unknown) => {
      this.seeding.delete(tenant);
      this.logger.warn({ err, tenant }, 'alert rules: could not write version 1 from the configuration; evaluating it anyway');
    });
  }
}
