/**
 * The stream adapter interface: the one contract every stream implementation (embedded SQLite log, NATS JetStream,
 * later Kafka) satisfies, checked by the conformance suite in test/stream/conformance.ts.
 *
 * Model (Kafka-like, because it maps onto every broker we target):
 * - a topic has a fixed number of partitions; a record's partition is chosen from its key (hash of the key), so all
 *   records of one key (one drone) are in one partition, in publish order;
 * - offsets increase strictly within a partition but need not be contiguous (JetStream sequences are per stream);
 * - a consumer group shares a topic's partitions between its live members; each partition has at most one owner at a
 *   time; a member that stops heart-beating loses its partitions to the others;
 * - delivery is at-least-once: records after the group's committed offset are delivered again after a crash or a
 *   rebalance. Consumers that need exactly-once effects make them idempotent (alerts) or fence them (archive).
 */

export interface RetentionPolicy {
  /** Delete records older than this (by append time). */
  maxAgeMs?: number;
  /** Delete the oldest records while the topic holds more than this many bytes of values. */
  maxBytes?: number;
}

export interface TopicConfig {
  partitions: number;
  retention?: RetentionPolicy;
  /** Publishes carrying an `id` already seen within this window are acknowledged as duplicates, not appended. */
  duplicateWindowMs?: number;
}

export type Headers = Record<string, string>;

export interface OutgoingRecord {
  key: string;
  value: Uint8Array;
  headers?: Headers;
  /** De-duplication id (the report id for reports). */
  id?: string;
}

export interface PublishAck {
  partition: number;
  offset: number;
  /** True when the record was recognised as a duplicate of an earlier publish (same id within the window). */
  duplicate: boolean;
}

export interface StreamRecord {
  topic: string;
  partition: number;
  offset: number;
  key: string;
  value: Uint8Array;
  headers: Headers;
  /** Append time, epoch ms. */
  timestamp: number;
}

/** Where to start reading: used by `read()`, `seek()`, and by a consumer group that has no committed offset yet. */
export type StartPosition = 'earliest' | 'latest' | { offset: number } | { time: number };

export interface ConsumerOptions {
  topic: string;
  group: string;
  /** Where a group with no committed offset for a partition starts. Default 'earliest'. */
  start?: StartPosition;
  /** A member that has not polled or heart-beaten for this long loses its partitions. Default 10 s. */
  sessionTimeoutMs?: number;
  /** Identifies this member in assignment listings; default a random id. */
  memberId?: string;
  /**
   * A group that lives only as long as its members (a process's private feed, which starts at 'latest' and never
   * needs its position again): its state is deleted when its last member closes, and a transient group whose
   * members all died without closing is deleted when another transient group of the topic is created, once their
   * leases have expired. Default false: a group's committed positions outlive its members.
   */
  transient?: boolean;
}

export interface PollOptions {
  /** Upper bound on records returned. Default 1000. */
  maxRecords?: number;
  /** How long to wait for at least one record. Default 100 ms; 0 returns at once. */
  waitMs?: number;
  /** Aborting ends a waiting poll at once: it resolves with [] (it does not reject). */
  signal?: AbortSignal;
}

export interface CommitPosition {
  partition: number;
  /** The last processed offset (inclusive): consumption resumes after it. */
  offset: number;
}

export interface StreamConsumer {
  readonly topic: string;
  readonly group: string;
  readonly memberId: string;
  /** Records from the partitions this member owns, in offset order within each partition. */
  poll(opts?: PollOptions): Promise<StreamRecord[]>;
  /**
   * Commits the last processed offset per partition (records or explicit positions; the highest per partition wins).
   * A commit for a partition this member no longer owns is refused with DW_STREAM_NOT_OWNER (fencing).
   */
  commit(positions: readonly (StreamRecord | CommitPosition)[]): Promise<void>;
  /** Moves this member's read position for an owned partition (replay). Does not commit. */
  seek(partition: number, position: StartPosition): Promise<void>;
  /** Partitions this member owns now. */
  assignment(): number[];
  /** Leaves the group: its partitions go to the other members at once. */
  close(): Promise<void>;
}

export interface PartitionLag {
  partition: number;
  /** Last committed offset, or -1 if none. */
  committed: number;
  /** Highest offset in the partition, or -1 if empty. */
  end: number;
  /** Records after the committed offset. */
  lag: number;
}

export interface ReadOptions {
  partition?: number;
  /** Default 'earliest'. */
  from?: StartPosition;
  /** Default 1000. Across all partitions, records are merged by append time (each partition stays in offset order). */
  limit?: number;
}

export interface Stream {
  /** Human name of the implementation, e.g. "sqlite:/data/stream.db" (no secrets). */
  readonly name: string;
  /** Creates the topic if missing (idempotent); an existing topic keeps its partition count. */
  ensureTopic(topic: string, config: TopicConfig): Promise<void>;
  partitionsOf(topic: string): Promise<number>;
  /** Appends records durably; resolves once they survive a crash of this process. */
  publish(topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]>;
  consumer(opts: ConsumerOptions): Promise<StreamConsumer>;
  /** Reads without a group (replay, inspection): records of one or all partitions from a position. */
  read(topic: string, opts?: ReadOptions): Promise<StreamRecord[]>;
  /** Per-partition lag of a consumer group. */
  lag(topic: string, group: string): Promise<PartitionLag[]>;
  /** Consumer groups that have state on the topic (positions, members), by name. */
  groups(topic: string): Promise<string[]>;
  /** Applies retention now (implementations also apply it periodically by themselves). */
  enforceRetention(): Promise<void>;
  close(): Promise<void>;
}

/** Partition of a key: FNV-1a 32-bit hash modulo the partition count; every implementation uses this one. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
