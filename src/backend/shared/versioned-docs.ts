import { checkTenant } from '../../lake/layout.ts';
import { nextVersion, type Versioned, type VersionedDocs, type VersionedDocsOptions } from '../versioned.ts';
import { KvConflictError, type SharedKv } from './kv.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
/** Versions zero-padded so that the bucket's key order is version order. */
const versionKey = (tenant: string, v: number): string => `${tenant}.v.${String(v).padStart(10, '0')}`;

/**
 * The versions of a per-tenant document in a shared bucket (JetStream KV on NATS, a log bucket on Kafka), under
 * keys `<tenant>.v.<version>` (the bucket may hold other keys: the rules' silences). Each version is its own key,
 * written with create, so of two writers of one version exactly one wins and the other gets the conflict error.
 * The store follows its bucket and hands each entry to apply(): reads come from that copy, and followers hear of a
 * version within the bucket's delivery time (milliseconds).
 */
export class KvVersionedDocs<T extends object> implements VersionedDocs<T> {
  private readonly byTenant = new Map<string, Versioned<T>[]>();
  private readonly listeners = new Set<(v: Versioned<T>) => void>();

  constructor(private readonly kv: SharedKv, private readonly o: VersionedDocsOptions<T>) {}

  /** Takes an entry the store's follower read: false when the key is not a version's (the store's to handle). */
  apply(key: string, value: Uint8Array | null): boolean {
    if (key.split('.')[1] !== 'v') return false;
    // Versions are never deleted: a null value (the bucket's TTL, a purge) changes nothing here.
    if (value) this.add(JSON.parse(dec.decode(value)) as Versioned<T>);
    return true;
  }

  private add(v: Versioned<T>): void {
    const list = this.byTenant.get(v.tenant) ?? [];
    if (list.some((x) => x.version === v.version)) return;
    list.push(v);
    list.sort((a, b) => a.version - b.version);
    this.byTenant.set(v.tenant, list);
    if (list[list.length - 1] === v) for (const l of this.listeners) l(v);
  }

  versions(tenant: string): Versioned<T>[] {
    return [...(this.byTenant.get(checkTenant(tenant)) ?? [])];
  }

  current(tenant: string): Versioned<T> | undefined {
    const list = this.byTenant.get(checkTenant(tenant));
    return list?.[list.length - 1];
  }

  async commit(tenant: string, expected: number, doc: T, meta: { author: string; reason: string }): Promise<Versioned<T>> {
    checkTenant(tenant);
    const newest = (): number => this.current(tenant)?.version ?? 0;
    // Versions are contiguous: `expected` must exist (or be 0) and `expected + 1` must not; create() checks the latter.
    if (expected > 0 && !(await this.kv.get(versionKey(tenant, expected)))) throw new this.o.conflict(tenant, expected, newest());
    const v = nextVersion(tenant, expected, this.o.pick(doc), meta);
    const value = enc.encode(JSON.stringify(v));
    try {
      await this.kv.create(versionKey(tenant, v.version), value);
    } catch (e) {
      if (e instanceof KvConflictError) throw new this.o.conflict(tenant, expected, Math.max(newest(), expected + 1));
      throw e;
    }
    // The copy holds what the bucket holds (what other processes read), not the object handed to the caller.
    this.apply(versionKey(tenant, v.version), value);
    return v;
  }

  /** Calls `onVersion` with every tenant's newest version now, then with each newer one from any process. */
  follow(onVersion: (v: Versioned<T>) => void): { stop(): void } {
    for (const list of this.byTenant.values()) onVersion(list[list.length - 1]!);
    this.listeners.add(onVersion);
    return { stop: () => { this.listeners.delete(onVersion); } };
  }

  stop(): void {
    this.listeners.clear();
  }
}
