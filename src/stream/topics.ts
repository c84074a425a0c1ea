import type { TopicConfig } from './types.ts';

/** The platform's topics. Names are shared by every stream implementation. */
export const TOPICS = {
  reports: 'reports',
  alerts: 'alerts',
  deadLetters: 'dead-letters',
} as const;

export const DEFAULT_TOPIC_CONFIG: Record<keyof typeof TOPICS, TopicConfig> = {
  reports: { partitions: 8, retention: { maxAgeMs: 24 * 3600_000, maxBytes: 2 * 1024 ** 3 }, duplicateWindowMs: 10 * 60_000 },
  alerts: { partitions: 8, retention: { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 512 * 1024 ** 2 }, duplicateWindowMs: 10 * 60_000 },
  deadLetters: { partitions: 1, retention: { maxAgeMs: 30 * 24 * 3600_000, maxBytes: 512 * 1024 ** 2 } },
};
