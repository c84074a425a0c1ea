import type { TopicConfig } from './types.ts';

/** The platform's topics. Names are shared by every stream implementation. */
export const TOPICS = {
  reports: 'reports',
  alerts: 'alerts',
  /** Incident events (src/incidents/publish.ts): one topic, each record naming its tenant, like `alerts`. */
  incidents: 'incidents',
  /**
   * Dead letters of versions before per-tenant topics (still read). Each tenant's letters are now on
   * `dead-letters-<tenant>` (src/ingest/dead-letters.ts deadLetterTopic), with the deadLetters config below each.
   */
  deadLetters: 'dead-letters',
  /** The tenants that have a dead-letter topic, one small record each per process that first wrote to it. */
  deadLetterTenants: 'dead-letter-tenants',
} as const;

export const DEFAULT_TOPIC_CONFIG: Record<keyof typeof TOPICS, TopicConfig> = {
  reports: { partitions: 8, retention: { maxAgeMs: 24 * 3600_000, maxBytes: 2 * 1024 ** 3 }, duplicateWindowMs: 10 * 60_000 },
  alerts: { partitions: 8, retention: { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 512 * 1024 ** 2 }, duplicateWindowMs: 10 * 60_000 },
  /** Deterministic event ids + the duplicate window: a republished incident event is stored once. */
  incidents: { partitions: 8, retention: { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 512 * 1024 ** 2 }, duplicateWindowMs: 10 * 60_000 },
  /** Per tenant (each tenant its own topic): one force's rejected traffic never evicts another force's letters. */
  deadLetters: { partitions: 1, retention: { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 256 * 1024 ** 2 } },
  /** A few bytes per tenant and process start; no age limit, since a tenant's letters may be older than its record. */
  deadLetterTenants: { partitions: 1, retention: { maxBytes: 16 * 1024 ** 2 } },
};
