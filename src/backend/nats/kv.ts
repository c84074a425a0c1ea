import { StorageType, jetstream } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { StreamUnavailableError } from '../../stream/errors.ts';
import { KvConflictError, type BucketOptions, type KvEntry, type KvFollowing, type KvFollowOptions, type SharedKv, type SharedKvStore } from '../shared/kv.ts';
import { KvFollower } from './kv-follow.ts';
import { natsSecurityOptions, type NatsClientSecurity } from './stream/client-security.ts';
// The NATS adapter's error classification (which failures are transient, what a lost compare-and-set looks like).
import { lostRace, withRetry, type RetryOptions } from './stream/retry.ts';

export interface NatsKvStoreOptions {
  servers: string[];
  /** Credentials and TLS (config `stream.nats`), as the stream's own connection uses them. */
  security?: NatsClientSecurity | undefined;
  /** Replicas of the buckets it creates (config stream.replicas). Default 1. */
  replicas?: number;
  /** KV request timeout. Default 10 000 ms (1 s times out under load, see the notes on NATS). */
  requestTimeoutMs?: number;
  /** How long transient failures (leader election, reconnect) are retried. Default 30 000 ms. */
  retryForMs?: number;
  /** The connection's name on the server (monitoring). */
  name: string;
}

/** JetStream KV buckets on one NATS connection. */
export class NatsKvStore implements SharedKvStore {
  private readonly retry: RetryOptions;
  private readonly kvm: Kvm;
  private closed = false;

  private constructor(private readonly nc: NatsConnection, private readonly opts: NatsKvStoreOptions) {
    this.retry = { forMs: opts.retryForMs ?? 30_000, closed: () => this.closed || nc.isClosed() };
    this.kvm = new Kvm(jetstream(nc, { timeout: opts.requestTimeoutMs ?? 10_000 }));
  }

  static async connect(opts: NatsKvStoreOptions): Promise<NatsKvStore> {
    try {
      const nc = await connect({
        servers: opts.servers, name: opts.name, noAsyncTraces: true, maxReconnectAttempts: -1, timeout: opts.requestTimeoutMs ?? 10_000,
        ...natsSecurityOptions(opts.security),
      });
      return new NatsKvStore(nc, opts);
    } catch (e) {
      throw new StreamUnavailableError(`connecting to ${opts.servers.join(',')} for ${opts.name}`, e);
    }
  }

  async bucket(name: string, o: BucketOptions = {}): Promise<SharedKv> {
    const kv = await withRetry(`bucket ${name}`, this.retry, () => this.kvm.create(name, {
      history: 1,
      replicas: this.opts.replicas ?? 1,
      storage: StorageType.File,
      // Reads go to the leader: a compare-and-set must never start from a follower's stale revision.
      allow_direct: false,
      timeout: this.opts.requestTimeoutMs ?? 10_000,
      ...(o.ttlMs !== undefined ? { ttl: o.ttlMs } : {}),
    }));
    return new NatsKv(name, kv, this.retry);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.nc.close().catch(() => undefined);
  }
}

class NatsKv implements SharedKv {
  constructor(readonly name: string, private readonly kv: KV, private readonly retry: RetryOptions) {}

  async get(key: string): Promise<KvEntry | null> {
    const e = await withRetry(`${this.name} get ${key}`, this.retry, () => this.kv.get(key));
    return e && e.operation === 'PUT' ? { key, value: e.value, revision: e.revision } : null;
  }

  create(key: string, value: Uint8Array): Promise<number> {
    return this.cas(key, () => this.kv.create(key, value));
  }

  update(key: string, value: Uint8Array, revision: number): Promise<number> {
    return this.cas(key, () => this.kv.update(key, value, revision));
  }

  put(key: string, value: Uint8Array): Promise<number> {
    return withRetry(`${this.name} put ${key}`, this.retry, () => this.kv.put(key, value));
  }

  async delete(key: string): Promise<void> {
    await withRetry(`${this.name} delete ${key}`, this.retry, () => this.kv.delete(key));
  }

  async follow(onEntry: (key: string, value: Uint8Array | null, revision: number) => void, o: KvFollowOptions): Promise<KvFollowing> {
    const f = new KvFollower(this.kv, onEntry, o.logger, o.what);
    await f.start(o.timeoutMs);
    return f;
  }

  private async cas(key: string, write: () => Promise<number>): Promise<number> {
    try {
      return await withRetry(`${this.name} write ${key}`, this.retry, write);
    } catch (e) {
      if (lostRace(e)) throw new KvConflictError(this.name, key);
      throw e;
    }
  }
}
