import type { Delivery, DeliveryQuery, NotificationPolicy, Page, PolicyVersion } from './types.ts';

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
  /** The pages of one alert. */
  pages(tenant: string, alertId: string): Promise<StoredPage[]>;
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
