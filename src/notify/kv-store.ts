import { randomBytes } from 'node:crypto';
import { KvConflictError, type KvFollowing, type SharedKv, type SharedKvStore } from '../backend/shared/kv.ts';
import { KvVersionedDocs } from '../backend/shared/versioned-docs.ts';
import { VersionedStore } from '../backend/versioned.ts';
import { checkTenant } from '../lake/layout.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { NotifyConflictError } from './errors.ts';
import { DEFAULT_DELIVERY_LIMIT, deliverySubject, MAX_DELIVERY_LIMIT, querySubject, subjectKey, type NotifyStore, type StoredPage } from './store.ts';
import type { Delivery, DeliveryQuery, NotificationPolicy, Page, PolicyVersion, Subject } from './types.ts';

/** One set of buckets per tenant, as the alert state's: a NATS or Kafka connection serves one tenant. */
export const notifyBucketNames = (tenant: string): { policies: string; pages: string; log: string } => ({
  policies: `dw_notify_${tenant}`, pages: `dw_notifypages_${tenant}`, log: `dw_notifylog_${tenant}`,
});

const enc = new TextEncoder();
const dec = new TextDecoder();
// Route ids may hold ':', which bucket keys may not: base64url has only key-safe characters.
const pageKey = (p: Pick<Page, 'tenant' | 'subject' | 'subjectId' | 'routeId'>): string => `${p.tenant}.p.${subjectKey(p.subject, p.subjectId)}.${Buffer.from(p.routeId).toString('base64url')}`;

export interface KvNotifyStoreOptions {
  store: SharedKvStore;
  tenant: string;
  /** Pages and deliveries not written for this long leave their buckets (the buckets' TTL). */
  retentionMs: number;
  /** Deliveries this process keeps in memory for GET /v1/notifications/deliveries (the newest). */
  maxDeliveries: number;
  logger?: Logger;
  ownsStore?: boolean;
  timeoutMs?: number;
}

/**
 * Policies, pages and the delivery log in three shared buckets. Policy versions are KvVersionedDocs' (versions,
 * current, commit, follow; exactly one writer of a version wins: DW_NOTIFY_CONFLICT for the other); pages change by compare-and-set on their
 * revision, so of two alert workers whose timers fire together one sends the escalation and the other is told it
 * lost. Every process follows the buckets: reads come from that copy.
 */
export class KvNotifyStore extends VersionedStore<NotificationPolicy, KvVersionedDocs<NotificationPolicy>> implements NotifyStore {
  private readonly pageMap = new Map<string, StoredPage>();
  private deliveryList: Delivery[] = [];
  private readonly following: KvFollowing[] = [];

  private constructor(private readonly kv: { policies: SharedKv; pages: SharedKv; log: SharedKv }, private readonly o: KvNotifyStoreOptions) {
    super(new KvVersionedDocs<NotificationPolicy>(kv.policies, { pick: (p) => ({ targets: p.targets, routes: p.routes }), conflict: NotifyConflictError }));
  }

  static async open(o: KvNotifyStoreOptions): Promise<KvNotifyStore> {
    const names = notifyBucketNames(checkTenant(o.tenant));
    const kv = {
      policies: await o.store.bucket(names.policies),
      pages: await o.store.bucket(names.pages, { ttlMs: o.retentionMs }),
      log: await o.store.bucket(names.log, { ttlMs: o.retentionMs }),
    };
    const s = new KvNotifyStore(kv, o);
    const opts = (what: string) => ({ timeoutMs: o.timeoutMs ?? 10_000, logger: o.logger ?? silentLogger, what });
    s.following.push(await kv.policies.follow((k, v) => { s.docs.apply(k, v); }, opts('notification policies')));
    s.following.push(await kv.pages.follow((k, v, revision) => s.applyPage(k, v, revision), opts('notification pages')));
    s.following.push(await kv.log.follow((_k, v) => { if (v) s.applyDelivery(JSON.parse(dec.decode(v)) as Delivery); }, opts('delivery log')));
    return s;
  }

  private applyPage(key: string, value: Uint8Array | null, revision: number): void {
    if (!value) {
      this.pageMap.delete(key);
      return;
    }
    // A follower may hear of an older write after this process's own newer one.
    if ((this.pageMap.get(key)?.revision ?? 0) >= revision) return;
    this.pageMap.set(key, { page: JSON.parse(dec.decode(value)) as Page, revision });
  }

  private applyDelivery(d: Delivery): void {
    if (this.deliveryList.some((x) => x.id === d.id)) return;
    this.deliveryList.push(d);
    if (this.deliveryList.length > this.o.maxDeliveries * 1.25) this.deliveryList = this.deliveryList.slice(-this.o.maxDeliveries);
  }

  follow(onVersion: (v: PolicyVersion) => void): Promise<{ stop(): void }> {
    return Promise.resolve(this.docs.follow(onVersion));
  }

  async createPage(p: Page): Promise<boolean> {
    const key = pageKey(p);
    try {
      const revision = await this.kv.pages.create(key, enc.encode(JSON.stringify(p)));
      this.applyPage(key, enc.encode(JSON.stringify(p)), revision);
      return true;
    } catch (e) {
      if (e instanceof KvConflictError) return false;
      throw e;
    }
  }

  pages(tenant: string, subject: Subject, id: string): Promise<StoredPage[]> {
    const prefix = `${checkTenant(tenant)}.p.${subjectKey(subject, id)}.`;
    return Promise.resolve([...this.pageMap].filter(([k]) => k.startsWith(prefix)).map(([, v]) => v).sort((a, b) => (a.page.routeId < b.page.routeId ? -1 : 1)));
  }

  duePages(now: number, limit: number): Promise<StoredPage[]> {
    const due = [...this.pageMap.values()].filter((s) => !s.page.done && s.page.nextAt !== null && s.page.nextAt <= now);
    due.sort((a, b) => a.page.nextAt! - b.page.nextAt!);
    return Promise.resolve(due.slice(0, limit));
  }

  async updatePage(p: Page, revision: number): Promise<boolean> {
    const key = pageKey(p);
    try {
      const next = await this.kv.pages.update(key, enc.encode(JSON.stringify(p)), revision);
      this.applyPage(key, enc.encode(JSON.stringify(p)), next);
      return true;
    } catch (e) {
      if (e instanceof KvConflictError) return false;
      throw e;
    }
  }

  async appendDelivery(d: Delivery): Promise<void> {
    const key = `${checkTenant(d.tenant)}.d.${String(Date.parse(d.at)).padStart(14, '0')}.${randomBytes(4).toString('hex')}`;
    await this.kv.log.put(key, enc.encode(JSON.stringify(d)));
    this.applyDelivery(d);
  }

  deliveries(q: DeliveryQuery): Promise<Delivery[]> {
    checkTenant(q.tenant);
    const limit = Math.min(MAX_DELIVERY_LIMIT, q.limit ?? DEFAULT_DELIVERY_LIMIT);
    const subject = querySubject(q);
    const out: Delivery[] = [];
    for (let i = this.deliveryList.length - 1; i >= 0 && out.length < limit; i--) {
      const d = this.deliveryList[i]!;
      if (d.tenant !== q.tenant || (subject !== undefined && deliverySubject(d) !== subject) || (q.status !== undefined && d.status !== q.status)) continue;
      if (q.since !== undefined && Date.parse(d.at) < q.since) continue;
      out.push(d);
    }
    return Promise.resolve(out);
  }

  /** The buckets' TTL forgets old entries; this trims this process's copy. */
  prune(o: { before: number; maxPerTenant: number }): Promise<number> {
    const before = this.deliveryList.length;
    this.deliveryList = this.deliveryList.filter((d) => Date.parse(d.at) >= o.before).slice(-o.maxPerTenant);
    return Promise.resolve(before - this.deliveryList.length);
  }

  async close(): Promise<void> {
    for (const f of this.following) f.stop();
    this.docs.stop();
    if (this.o.ownsStore) await this.o.store.close();
  }
}
