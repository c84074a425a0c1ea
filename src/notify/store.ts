import type { Delivery, DeliveryQuery, NotificationPolicy, Page, PolicyVersion, Subject } from './types.ts';

/** How stores key a page's or a delivery's subject: `a-<alert id>`, `i-<incident id>` (characters every backend's keys allow). */
export const subjectKey = (subject: Subject, id: string): string => `${subject === 'incident' ? 'i' : 'a'}-${id}`;
/** The subject key a delivery query asks for, if any. */
export const querySubject = (q: Pick<DeliveryQuery, 'alertId' | 'incidentId'>): string | undefined =>
  q.alertId !== undefined ? subjectKey('alert', q.alertId) : q.incidentId !== undefined ? subjectKey('incident', q.incidentId) : undefined;
export const deliverySubject = (d: Pick<Delivery, 'alertId' | 'incidentId'>): string => (d.incidentId !== undefined ? subjectKey('incident', d.incidentId) : subjectKey('alert', d.alertId ?? ''));

/** A page with the revision it was read at: the compare-and-set of updatePage starts from it. */
export interface StoredPage {
  page: Page;
  revision: number;
}

/**
 * Where notification policies, pages (the escalation state of each notified alert) and the delivery log live:
 * `notify.db` next to alerts.db (sqlite-store.ts), or buckets of the shared alert state's connection (kv-store.ts:
 * JetStream KV on NATS, log buckets on Kafka). Policy versions are append-only like rule versions
 * (DW_NOTIFY_CONFLICT for the second writer of a version); pages change only by compare-and-set, which is how two
 * alert workers agree on who sends a repeat or an escalation.
 */
export interface NotifyStore {
  versions(tenant: string): Promise<PolicyVersion[]>;
  current(tenant: string): Promise<PolicyVersion | undefined>;
  /** Writes version `expected + 1`; DW_NOTIFY_CONFLICT when the newest is not `expected`. */
  commit(tenant: string, expected: number, policy: NotificationPolicy, meta: { author: string; reason: string }): Promise<PolicyVersion>;
  /** Calls `onVersion` with every tenant's newest version now, then on every new version from any process (about a second). */
  follow(onVersion: (v: PolicyVersion) => void): Promise<{ stop(): void }>;

  /** Writes a new page; false when the alert already has one for that route (a redelivered raise). */
  createPage(page: Page): Promise<boolean>;
  /** The pages of one alert or incident. */
  pages(tenant: string, subject: Subject, id: string): Promise<StoredPage[]>;
  /** Pages not done whose `nextAt` has come, oldest first. */
  duePages(now: number, limit: number): Promise<StoredPage[]>;
  /** Replaces a page still at `revision`; false when another process changed it first (its claim won). */
  updatePage(page: Page, revision: number): Promise<boolean>;

  appendDelivery(d: Delivery): Promise<void>;
  /** Newest first. */
  deliveries(q: DeliveryQuery): Promise<Delivery[]>;
  /** Forgets deliveries and pages older than `before` (epoch ms), and deliveries beyond the newest `maxPerTenant`. */
  prune(o: { before: number; maxPerTenant: number }): Promise<number>;
  close(): Promise<void>;
}

export const DEFAULT_DELIVERY_LIMIT = 100;
export const MAX_DELIVERY_LIMIT = 1000;
