/**
 * Shared KV buckets on any Stream (used on Kafka, which has no compare-and-set): each bucket is a one-partition topic
 * whose records are write *requests* (put, create, update at a revision, delete). Every process follows the topic
 * from its start and applies the requests in log order with one deterministic rule, so all of them agree on which
 * requests won, on every key's value and on its revision (the winning record's offset + 1). A writer appends its
 * request, waits until its own copy has applied that offset, and reads the outcome there: the log is the single
 * point of order, as the stream leader is for JetStream KV. (docs/ARCHITECTURE.md, "Shared state on Kafka".)
 *
 * Why not a compacted topic: compaction keeps a key's *last* record, which may be a request that lost (a create of an
 * existing key, an update at a stale revision), and a process starting later would apply it. Buckets are bounded by
 * time instead (`ttlMs`: the topic's retention, as a KV bucket's TTL), or are small (credentials). When retention has
 * removed a key's earlier records, an update at a revision older than the log's first record is accepted: every
 * process applies it the same way, and the writer of a request that had lost retries at the current revision.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { StreamClosedError } from '../../errors/index.ts';
import { StreamUnavailableError } from '../../stream/errors.ts';
import type { Headers, Stream, StreamConsumer, StreamRecord } from '../../stream/types.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { KvConflictError, type BucketOptions, type KvEntry, type KvFollowing, type KvFollowOptions, type SharedKv, type SharedKvStore } from './kv.ts';

type Op = 'put' | 'create' | 'update' | 'del';

const OP = 'kv-op';
const EXPECT = 'kv-rev';

export interface LogKvStoreOptions {
  /** Topic name of a bucket: default `kv.<bucket>`. */
  topicOf?: (bucket: string) => string;
  /** How long opening a bucket may take to catch up with its log. Default 30 000 ms. */
  openTimeoutMs?: number;
  /** How long a write waits for its own request to come back. Default 30 000 ms. */
  writeTimeoutMs?: number;
  /** Closes the stream with the store (it was opened for it). Default false. */
  ownsStream?: boolean;
  logger?: Logger;
}

/** Buckets as topics of one stream. */
export class LogKvStore implements SharedKvStore {
  private readonly buckets = new Map<string, Promise<LogKv>>();
  private closed = false;

  constructor(private readonly stream: Stream, private readonly opts: LogKvStoreOptions = {}) {}

  bucket(name: string, o: BucketOptions = {}): Promise<SharedKv> {
    if (this.closed) return Promise.reject(new StreamClosedError());
    let b = this.buckets.get(name);
    if (!b) {
      b = LogKv.open(this.stream, name, (this.opts.topicOf ?? ((n) => `kv.${n}`))(name), o, this.opts);
      this.buckets.set(name, b);
      b.catch(() => this.buckets.delete(name));
    }
    return b;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const b of this.buckets.values()) await (await b.catch(() => undefined))?.close();
    if (this.opts.ownsStream) await this.stream.close();
  }
}

interface Current {
  value: Uint8Array;
  revision: number;
  /** Append time of the winning request: with a TTL, a key not written for ttlMs is gone. */
  ts: number;
}

type Listener = (key: string, value: Uint8Array | null, revision: number) => void;

class LogKv implements SharedKv {
  private readonly entries = new Map<string, Current>();
  private readonly listeners = new Set<Listener>();
  /** Outcome of each request applied, by offset, until its writer has read it. */
  private readonly outcomes = new Map<number, boolean>();
  private readonly waiters: { offset: number; resolve: () => void }[] = [];
  /** Offset of the last record applied (-1: none). */
  private applied = -1;
  /** Offset of the first record this copy saw: anything older was removed by retention before it started. */
  private logStart: number | undefined;
  private closed = false;
  private running: Promise<void> | undefined;
  private syncing: Promise<void> | undefined;
  private nextSync: Promise<void> | undefined;
  private readonly logger: Logger;

  private constructor(
    private readonly stream: Stream,
    readonly name: string,
    private readonly topic: string,
    private readonly consumer: StreamConsumer,
    private readonly ttlMs: number | undefined,
    private readonly opts: LogKvStoreOptions,
  ) {
    this.logger = opts.logger ?? silentLogger;
  }

  static async open(stream: Stream, name: string, topic: string, o: BucketOptions, opts: LogKvStoreOptions): Promise<LogKv> {
    await stream.ensureTopic(topic, { partitions: 1, ...(o.ttlMs !== undefined ? { retention: { maxAgeMs: o.ttlMs } } : {}) });
    // A private group that starts at the beginning and is deleted with this process: every copy reads the whole log.
    const consumer = await stream.consumer({ topic, group: `kv-${randomUUID()}`, start: 'earliest', transient: true });
    const kv = new LogKv(stream, name, topic, consumer, o.ttlMs, opts);
    kv.running = kv.run();
    try {
      await kv.catchUp(opts.openTimeoutMs ?? 30_000);
    } catch (e) {
      await kv.close();
      throw e;
    }
    return kv;
  }

  /**
   * Reads after catching up with the log's end as it is now: every write acknowledged before this call, by any
   * process, is seen (as a JetStream KV get from the leader). Reading the copy as it stood let a process read 15 after
   * the last of 16 increments made by another had been acknowledged (regression, seen on Kafka under load).
   */
  async get(key: string): Promise<KvEntry | null> {
    await this.sync();
    const e = this.live(key, Date.now());
    return e ? { key, value: e.value, revision: e.revision } : null;
  }

  create(key: string, value: Uint8Array): Promise<number> {
    return this.write(key, 'create', value);
  }

  update(key: string, value: Uint8Array, revision: number): Promise<number> {
    return this.write(key, 'update', value, revision);
  }

  put(key: string, value: Uint8Array): Promise<number> {
    return this.write(key, 'put', value);
  }

  async delete(key: string): Promise<void> {
    await this.write(key, 'del', new Uint8Array(0));
  }

  async follow(onEntry: Listener, _o: KvFollowOptions): Promise<KvFollowing> {
    // The bucket caught up with its log when it opened: what it holds now is everything the log held then.
    const now = Date.now();
    for (const [key] of this.entries) {
      const e = this.live(key, now);
      if (e) onEntry(key, e.value, e.revision);
    }
    this.listeners.add(onEntry);
    return { stop: () => void this.listeners.delete(onEntry) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiters.splice(0)) w.resolve();
    await this.running?.catch(() => undefined);
    await this.consumer.close().catch(() => undefined);
  }

  private live(key: string, at: number): Current | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    return this.ttlMs !== undefined && e.ts < at - this.ttlMs ? undefined : e;
  }

  private async write(key: string, op: Op, value: Uint8Array, expect?: number): Promise<number> {
    if (this.closed) throw new StreamClosedError();
    const headers: Headers = { [OP]: op, ...(expect !== undefined ? { [EXPECT]: String(expect) } : {}) };
    const [ack] = await this.stream.publish(this.topic, [{ key, value, headers }]);
    const offset = ack!.offset;
    await this.reach(offset, this.opts.writeTimeoutMs ?? 30_000);
    const won = this.outcomes.get(offset);
    this.outcomes.delete(offset);
    if (won === undefined) throw new StreamUnavailableError(`shared state ${this.name}: request at offset ${offset} not seen`, 'gap in the log');
    if (!won) throw new KvConflictError(this.name, key);
    return offset + 1;
  }

  /**
   * Catches up with the end of the log as read after this call: concurrent callers share one end-offset request, but
   * a caller that arrives while one is in flight waits for the next (the one in flight may have read the end before
   * the write this caller must see was acknowledged).
   */
  private sync(): Promise<void> {
    if (!this.syncing) {
      this.syncing = this.catchUp(this.opts.writeTimeoutMs ?? 30_000).finally(() => { this.syncing = undefined; });
      return this.syncing;
    }
    this.nextSync ??= this.syncing.catch(() => undefined).then(() => {
      this.nextSync = undefined;
      return this.sync();
    });
    return this.nextSync;
  }

  /** Waits until every record appended before now is applied. */
  private async catchUp(timeoutMs: number): Promise<void> {
    const [lag] = await this.stream.lag(this.topic, this.consumer.group);
    if (lag && lag.end >= 0) await this.reach(lag.end, timeoutMs);
  }

  private reach(offset: number, timeoutMs: number): Promise<void> {
    if (this.applied >= offset || this.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new StreamUnavailableError(`shared state ${this.name}: the log did not reach offset ${offset} within ${timeoutMs} ms`, 'follower behind'));
      }, timeoutMs);
      const waiter = { offset, resolve: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      let records: StreamRecord[];
      try {
        records = await this.consumer.poll({ maxRecords: 1000, waitMs: 200 });
        failures = 0;
      } catch (err) {
        if (this.closed) return;
        if (failures++ % 20 === 0) this.logger.warn({ err, bucket: this.name }, 'shared state: reading the log failed; retrying');
        await sleep(Math.min(1000, 50 * 2 ** Math.min(failures, 5)));
        continue;
      }
      for (const r of records) this.apply(r);
      if (records.length > 0) {
        const ready = this.waiters.filter((w) => w.offset <= this.applied);
        if (ready.length > 0) {
          for (const w of ready) this.waiters.splice(this.waiters.indexOf(w), 1);
          for (const w of ready) w.resolve();
        }
      }
    }
  }

  /** The one rule every copy applies, in log order: whether a request wins depends only on the records before it. */
  private apply(r: StreamRecord): void {
    // A group that rejoined may deliver again what was applied.
    if (r.offset <= this.applied) return;
    this.logStart ??= r.offset;
    this.applied = r.offset;
    const op = r.headers[OP] as Op | undefined;
    const cur = this.live(r.key, r.timestamp);
    let won: boolean;
    switch (op) {
      case 'put':
      case 'del':
        won = true;
        break;
      case 'create':
        won = cur === undefined;
        break;
      case 'update': {
        const expect = Number(r.headers[EXPECT]);
        won = cur !== undefined ? cur.revision === expect : expect <= this.logStart;
        break;
      }
      default:
        won = false;
        this.logger.warn({ bucket: this.name, offset: r.offset }, 'shared state: ignoring a record that is not a request');
    }
    this.outcomes.set(r.offset, won);
    if (this.outcomes.size > 10_000) this.outcomes.delete(this.outcomes.keys().next().value!);
    if (!won) return;
    const revision = r.offset + 1;
    if (op === 'del') this.entries.delete(r.key);
    else this.entries.set(r.key, { value: r.value, revision, ts: r.timestamp });
    for (const l of this.listeners) {
      try {
        l(r.key, op === 'del' ? null : r.value, revision);
      } catch (err) {
        this.logger.warn({ err, key: r.key }, `shared state ${this.name}: a follower failed on an entry`);
      }
    }
  }
}
