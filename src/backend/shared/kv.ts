/**
 * A key-value bucket shared by every process of a deployment, with compare-and-set: the one primitive the shared
 * state (alerts, credentials, sessions, failed logins) is built on. JetStream KV provides it natively (nats/kv.ts);
 * on any other stream, a log with deterministic replay provides it (log-kv.ts). Values are opaque bytes.
 */
import { DwError } from '../../errors/index.ts';
import type { Logger } from '../../util/log.ts';

export interface KvEntry {
  key: string;
  value: Uint8Array;
  /** Increases with every write to the bucket; a key's revision is that of its last write. */
  revision: number;
}

/** A compare-and-set lost to another writer, or a create of a key that exists: re-read and try again (or give up). */
export class KvConflictError extends DwError {
  constructor(bucket: string, key: string) {
    super('DW_CONFLICT', `shared state ${bucket}: ${key} was changed by another writer`, { status: 409 });
  }
}

export interface KvFollowOptions {
  /** Rejects when the copy has not caught up with the bucket within this long. */
  timeoutMs: number;
  logger: Logger;
  /** What follows, for log lines. */
  what: string;
}

export interface KvFollowing {
  stop(): void;
}

export interface SharedKv {
  readonly name: string;
  /** The key's current value, read from the bucket itself (never a stale copy): a compare-and-set starts from it. */
  get(key: string): Promise<KvEntry | null>;
  /** Writes a key that does not exist; KvConflictError when it does. Resolves with the new revision. */
  create(key: string, value: Uint8Array): Promise<number>;
  /** Writes a key still at `revision`; KvConflictError when another write came first. */
  update(key: string, value: Uint8Array, revision: number): Promise<number>;
  /** Writes unconditionally. */
  put(key: string, value: Uint8Array): Promise<number>;
  delete(key: string): Promise<void>;
  /**
   * Calls `onEntry` with every key's current value, then every change in revision order (`value` null: deleted), and
   * resolves once everything the bucket held at the start was delivered. Survives reconnects by itself.
   */
  follow(onEntry: (key: string, value: Uint8Array | null, revision: number) => void, opts: KvFollowOptions): Promise<KvFollowing>;
}

export interface BucketOptions {
  /** Entries not written for this long are forgotten (the bucket stays bounded). Default: kept. */
  ttlMs?: number;
}

/** Where a backend keeps its buckets: one connection, any number of buckets. */
export interface SharedKvStore {
  bucket(name: string, opts?: BucketOptions): Promise<SharedKv>;
  close(): Promise<void>;
}
