import { checkTenant } from '../../lake/layout.ts';
import { RulesConflictError, SilenceNotFoundError, type RuleStore, type RuleStoreChange } from '../../rules/store.ts';
import type { RuleSetVersion, Silence } from '../../rules/types.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { KvConflictError, type KvFollowing, type SharedKv, type SharedKvStore } from './kv.ts';

/** One bucket per tenant, as the alert state's (`dw_alerts_<tenant>`): a NATS or Kafka connection serves one tenant. */
export const rulesBucketName = (tenant: string): string => `dw_rules_${tenant}`;

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Versions zero-padded so that the bucket's key order is version order. */
const versionKey = (tenant: string, v: number): string => `${tenant}.v.${String(v).padStart(10, '0')}`;
const silenceKey = (tenant: string, id: string): string => `${tenant}.s.${id}`;

/**
 * Rule set versions and silences in a shared bucket (JetStream KV on NATS, a log bucket on Kafka): each version is
 * its own key, written with create, so of two writers of one version exactly one wins (DW_RULES_CONFLICT for the
 * other). Every process follows the bucket: reads come from that copy, and followers hear of a change within the
 * bucket's delivery time (milliseconds).
 */
export class KvRuleStore implements RuleStore {
  private readonly byTenant = new Map<string, RuleSetVersion[]>();
  private readonly silenceMap = new Map<string, Silence>();
  private readonly listeners = new Set<(c: RuleStoreChange) => void>();
  private following: KvFollowing | undefined;

  private constructor(private readonly kv: SharedKv, private readonly ownsStore: SharedKvStore | undefined) {}

  /** `ownsStore`: close the store with this one (tests); the alert state's store is closed by the alert state. */
  static async open(o: { store: SharedKvStore; tenant: string; logger?: Logger; ownsStore?: boolean; timeoutMs?: number }): Promise<KvRuleStore> {
    const kv = await o.store.bucket(rulesBucketName(checkTenant(o.tenant)));
    const s = new KvRuleStore(kv, o.ownsStore ? o.store : undefined);
    s.following = await kv.follow((key, value) => s.apply(key, value), { timeoutMs: o.timeoutMs ?? 10_000, logger: o.logger ?? silentLogger, what: 'alert rules' });
    return s;
  }

  private apply(key: string, value: Uint8Array | null): void {
    const parts = key.split('.');
    if (parts[1] === 'v' && value) {
      const v = JSON.parse(dec.decode(value)) as RuleSetVersion;
      const list = this.byTenant.get(v.tenant) ?? [];
      if (list.some((x) => x.version === v.version)) return;
      list.push(v);
      list.sort((a, b) => a.version - b.version);
      this.byTenant.set(v.tenant, list);
      if (list[list.length - 1] === v) this.emit({ kind: 'version', version: v });
    } else if (parts[1] === 's') {
      if (value) {
        const s = JSON.parse(dec.decode(value)) as Silence;
        this.silenceMap.set(key, s);
        this.emit({ kind: 'silence', silence: s });
      } else {
        const s = this.silenceMap.get(key);
        this.silenceMap.delete(key);
        if (s) this.emit({ kind: 'silence-removed', tenant: s.tenant, id: s.id });
      }
    }
  }

  private emit(c: RuleStoreChange): void {
    for (const l of this.listeners) l(c);
  }

  versions(tenant: string): Promise<RuleSetVersion[]> {
    return Promise.resolve([...(this.byTenant.get(checkTenant(tenant)) ?? [])]);
  }

  current(tenant: string): Promise<RuleSetVersion | undefined> {
    const list = this.byTenant.get(checkTenant(tenant));
    return Promise.resolve(list?.[list.length - 1]);
  }

  async commit(tenant: string, expected: number, set: { rules: RuleSetVersion['rules']; zones: RuleSetVersion['zones'] }, meta: { author: string; reason: string }): Promise<RuleSetVersion> {
    checkTenant(tenant);
    const newest = async (): Promise<number> => (await this.current(tenant))?.version ?? 0;
    // Versions are contiguous: `expected` must exist (or be 0) and `expected + 1` must not; create() checks the latter.
    if (expected > 0 && !(await this.kv.get(versionKey(tenant, expected)))) throw new RulesConflictError(tenant, expected, await newest());
    const v: RuleSetVersion = { tenant, version: expected + 1, rules: set.rules, zones: set.zones, author: meta.author, at: new Date().toISOString(), reason: meta.reason };
    try {
      await this.kv.create(versionKey(tenant, v.version), enc.encode(JSON.stringify(v)));
    } catch (e) {
      if (e instanceof KvConflictError) throw new RulesConflictError(tenant, expected, Math.max(await newest(), expected + 1));
      throw e;
    }
    this.apply(versionKey(tenant, v.version), enc.encode(JSON.stringify(v)));
    return v;
  }

  silences(tenant: string): Promise<Silence[]> {
    checkTenant(tenant);
    return Promise.resolve([...this.silenceMap.values()].filter((s) => s.tenant === tenant).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  }

  async addSilence(s: Silence): Promise<Silence> {
    const key = silenceKey(checkTenant(s.tenant), s.id);
    await this.kv.create(key, enc.encode(JSON.stringify(s)));
    if (!this.silenceMap.has(key)) this.apply(key, enc.encode(JSON.stringify(s)));
    return s;
  }

  async removeSilence(tenant: string, id: string): Promise<Silence> {
    const key = silenceKey(checkTenant(tenant), id);
    const cur = await this.kv.get(key);
    if (!cur) throw new SilenceNotFoundError(id);
    await this.kv.delete(key);
    this.apply(key, null);
    return JSON.parse(dec.decode(cur.value)) as Silence;
  }

  follow(onChange: (c: RuleStoreChange) => void): Promise<{ stop(): void }> {
    for (const list of this.byTenant.values()) onChange({ kind: 'version', version: list[list.length - 1]! });
    for (const s of this.silenceMap.values()) onChange({ kind: 'silence', silence: s });
    this.listeners.add(onChange);
    return Promise.resolve({ stop: () => { this.listeners.delete(onChange); } });
  }

  async close(): Promise<void> {
    this.following?.stop();
    this.listeners.clear();
    if (this.ownsStore) await this.ownsStore.close();
  }
}
