import { checkTenant } from '../../lake/layout.ts';
import { RulesConflictError, SilenceNotFoundError, type RuleStore, type RuleStoreChange } from '../../rules/store.ts';
import type { RuleSet, Silence } from '../../rules/types.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { VersionedStore } from '../versioned.ts';
import type { KvFollowing, SharedKv, SharedKvStore } from './kv.ts';
import { KvVersionedDocs } from './versioned-docs.ts';

/** One bucket per tenant, as the alert state's (`dw_alerts_<tenant>`): a NATS or Kafka connection serves one tenant. */
export const rulesBucketName = (tenant: string): string => `dw_rules_${tenant}`;

const enc = new TextEncoder();
const dec = new TextDecoder();
const silenceKey = (tenant: string, id: string): string => `${tenant}.s.${id}`;

/**
 * Rule set versions (keys `<tenant>.v.<version>`: versions, current and commit are KvVersionedDocs',
 * DW_RULES_CONFLICT for the second writer of a version) and silences (`<tenant>.s.<id>`) in one shared bucket
 * (JetStream KV on NATS, a log bucket on Kafka). Every process follows the bucket: reads come from that copy, and
 * followers hear of a change within the bucket's delivery time (milliseconds).
 */
export class KvRuleStore extends VersionedStore<RuleSet, KvVersionedDocs<RuleSet>> implements RuleStore {
  private readonly silenceMap = new Map<string, Silence>();
  private readonly listeners = new Set<(c: RuleStoreChange) => void>();
  private following: KvFollowing | undefined;

  private constructor(private readonly kv: SharedKv, private readonly ownsStore: SharedKvStore | undefined) {
    super(new KvVersionedDocs<RuleSet>(kv, { pick: (s) => ({ rules: s.rules, zones: s.zones }), conflict: RulesConflictError }));
  }

  /** `ownsStore`: close the store with this one (tests); the alert state's store is closed by the alert state. */
  static async open(o: { store: SharedKvStore; tenant: string; logger?: Logger; ownsStore?: boolean; timeoutMs?: number }): Promise<KvRuleStore> {
    const kv = await o.store.bucket(rulesBucketName(checkTenant(o.tenant)));
    const s = new KvRuleStore(kv, o.ownsStore ? o.store : undefined);
    s.following = await kv.follow((key, value) => s.apply(key, value), { timeoutMs: o.timeoutMs ?? 10_000, logger: o.logger ?? silentLogger, what: 'alert rules' });
    return s;
  }

  private apply(key: string, value: Uint8Array | null): void {
    if (this.docs.apply(key, value) || key.split('.')[1] !== 's') return;
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

  private emit(c: RuleStoreChange): void {
    for (const l of this.listeners) l(c);
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
    const versions = this.docs.follow((version) => onChange({ kind: 'version', version }));
    for (const s of this.silenceMap.values()) onChange({ kind: 'silence', silence: s });
    this.listeners.add(onChange);
    return Promise.resolve({ stop: () => { versions.stop(); this.listeners.delete(onChange); } });
  }

  async close(): Promise<void> {
    this.following?.stop();
    this.docs.stop();
    this.listeners.clear();
    if (this.ownsStore) await this.ownsStore.close();
  }
}
