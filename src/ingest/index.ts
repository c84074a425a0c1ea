/** Ingestion: validate reports, publish the valid ones to the `reports` topic, keep the rest as dead letters. */
export { DEFAULT_MAX_BODY_BYTES, ITEMS_PER_TURN, Ingestor, OVERSIZED_BODY_KEPT_BYTES, type BodyType, type IngestorOptions, type IngestScope } from './ingestor.ts';
export type { IngestResult, RejectedItem } from './batch.ts';
export {
  DEAD_LETTER_KEPT_BYTES, DEAD_LETTER_PART_BYTES, deadLetterOf, deadLetterRaw, deadLetterTopic, ensureDeadLetterTopic, listDeadLetters, publishDeadLetters,
  type DeadLetter, type StoredDeadLetter,
} from './dead-letters.ts';
export { IngestRateLimiter, type IngestRateLimitOptions } from './rate-limit.ts';
