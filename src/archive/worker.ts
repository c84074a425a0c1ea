import { applyRetention, compactLake, DEFAULT_COMPACTION_LEVEL, DEFAULT_COMPACTION_MEMORY_LIMIT, DEFAULT_HOUR_COMPACTION_LEVEL, LakeWriter, lakeStore, type LakeTable, type LakeWriterOptions, type ProtocolStep } from '../lake/index.ts';
import { planCompaction } from '../lake/compact-plan.ts';
import { compactLakeInChild } from '../lake/compact-process.ts';
import type { ObjectStore } from '../objectstore/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../stream/topics.ts';
import type { Stream } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { emptyTopicStats, TopicArchiver, type StepHook, type TopicStats } from './topic-archiver.ts';

/** The topics the archive consumes; each goes to the lake table of the same name. */
export type ArchiveTopic = 'reports' | 'alerts' | 'incidents';

export interface ArchiveWorkerOptions {
  stream: Stream;
  /** Where the lake is: a directory or `s3://bucket/prefix` (docs/object-store.md). */
  lakeRoot: string;
  /** An already opened store for the lake (then lakeRoot only names it in logs); the worker does not close it. */
  store?: ObjectStore;
  /** Parent of the local scratch directory where batches are built before upload. Default: the OS temp dir. */
  scratchDir?: string;
  /** Consumer group. Default 'archive'. */
  group?: string;
  /** Default all three. */
  topics?: readonly ArchiveTopic[];
  /** A partition's buffer is written once it holds this many records... Default 100,000. */
  maxBatchRecords?: number;
  /** ...or its oldest record is this old. Default 10 s. */
  maxBatchAgeMs?: number;
  /**
   * The same for the event topics (alerts, incidents). Default 6 x maxBatchAgeMs. They carry ~1% of the reports'
   * records, and each flush costs the commit protocol (stage, marker, upload, checkpoint, fsyncs) whatever its size: at
   * the reports' age, the 30-minute soak spent as long committing their ~100-row batches as the reports' 17 million rows.
   */
  maxEventBatchAgeMs?: number;
  /** Compact an hour partition once it has this many files; 0 turns the worker's compaction off. Default 8. */
  compactMinFiles?: number;
  /** How often the worker compacts. Default 60 s. */
  compactIntervalMs?: number;
  /** Only files at least this old are compacted. Default max(60 s, 2 x maxBatchAgeMs). */
  compactOlderThanMs?: number;
  /** zstd level of a partition's merges in an open hour. Default DEFAULT_COMPACTION_LEVEL (9). */
  compactionLevel?: number;
  /** zstd level of a closed hour's merge across partitions. Default DEFAULT_HOUR_COMPACTION_LEVEL (15). */
  compactionHourLevel?: number;
  /** DuckDB memory_limit of a merge (it spills to scratchDir beyond it). Default DEFAULT_COMPACTION_MEMORY_LIMIT (1GB). */
  compactMemoryLimit?: string;
  /**
   * Where a compaction pass with something to merge runs: `child` (default), a short-lived child process
   * (src/lake/compact-process.ts), so that the memory a merge takes (DuckDB's sort, up to compactMemoryLimit for a
   * closed hour) is returned to the system when it exits instead of staying in this process's RSS; `here`, in this
   * thread. A worker given an opened `store` compacts here (a child opens its own store from lakeRoot).
   */
  compactIn?: 'child' | 'here';
  /**
   * The worker compacts the hours of the last this many hours only (a listing per day on S3, every interval); older
   * hours (late reports) are compacted by `dronewatch compact`. Default 48.
   */
  compactWindowHours?: number;
  /** Delete hour partitions older than this many days, per table (checked with compaction, hourly). Default: keep. */
  retentionDays?: Partial<Record<LakeTable, number>>;
  /** Passed to the consumers. */
  sessionTimeoutMs?: number;
  memberId?: string;
  /** zstd level and split strategy of batch files. */
  lake?: Pick<LakeWriterOptions, 'compressionLevel' | 'strategy'>;
  logger?: Logger;
  /** Called after each step of the commit protocol, for every batch (observability; crash tests kill the process here). */
  onStep?: StepHook;
  /**
   * stop() first archives every record published before it was called to the partitions this worker owns, for up to
   * this long (then it stops anyway, the rest stays in the stream for the next run, with a warning). Default 120 s.
   */
  drainTimeoutMs?: number;
}

export interface ArchiveStats extends TopicStats {
  /** Records waiting in buffers. */
  buffered: number;
  pollErrors: number;
  flushErrors: number;
  compactions: number;
  compactionErrors: number;
  /** Partitions currently archived by this worker, per topic. */
  partitions: Record<string, number[]>;
  perTopic: Record<string, TopicStats>;
}

/**
 * Waits `ms`, or less if `signal` aborts. The abort listener is removed when the timer fires: the worker's signal
 * lives as long as the worker, and a listener left behind by each sleep (compaction every minute, every retry's
 * backoff) piled up until Node warned `MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]`
 * (issue 15, item 8).
 */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** How long stop() goes on archiving what was published before it was called. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 120_000;
/** maxBatchAgeMs unless given. */
const DEFAULT_MAX_BATCH_AGE_MS = 10_000;
/** The event topics' batch age, in reports' batch ages, unless maxEventBatchAgeMs is given. */
const EVENT_AGE_FACTOR = 6;

/**
 * Stream consumer 2: archives the `reports`, `alerts` and `incidents` topics into the Parquet lake, exactly once per record
 * whatever instant the process dies at (src/lake/commit.ts), and compacts the lake (and applies retention)
 * periodically in the same process (one archiver per lake is the expected deployment; compaction is safe next to
 * writers anyway). The lake is any object store: a local directory or S3.
 */
export class ArchiveWorker {
  private readonly opts: ArchiveWorkerOptions;
  private readonly logger: Logger;
  private writer: LakeWriter | undefined;
  private store: ObjectStore | undefined;
  private ownsStore = false;
  private archivers: TopicArchiver[] = [];
  private abort = new AbortController();
  /** Ends the compaction loop and interrupts the merge in progress: stop() aborts it first, before the drain (and before `abort`). */
  private readonly compactionAbort = new AbortController();
  private loops: Promise<void>[] = [];
  private compaction: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private readonly counters = { pollErrors: 0, flushErrors: 0, compactions: 0, compactionErrors: 0 };

  constructor(opts: ArchiveWorkerOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
    for (const [k, v] of [['maxBatchRecords', opts.maxBatchRecords], ['maxBatchAgeMs', opts.maxBatchAgeMs], ['maxEventBatchAgeMs', opts.maxEventBatchAgeMs]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new RangeError(`ArchiveWorker: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Joins the consumer group of each topic and starts archiving (and compacting). */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const o = this.opts;
    const opened = o.store ? { store: o.store, owned: false } : lakeStore(o.lakeRoot);
    this.store = opened.store;
    this.ownsStore = opened.owned;
    this.writer = await LakeWriter.open(this.store, { ...o.lake, ...(o.scratchDir ? { scratchDir: o.scratchDir } : {}), logger: this.logger });
    const reportsAge = o.maxBatchAgeMs ?? DEFAULT_MAX_BATCH_AGE_MS;
    for (const topic of o.topics ?? (['reports', 'alerts', 'incidents'] as const)) {
      const name = TOPICS[topic];
      await o.stream.ensureTopic(name, DEFAULT_TOPIC_CONFIG[topic]);
      const consumer = await o.stream.consumer({
        topic: name, group: o.group ?? 'archive', start: 'earliest',
        ...(o.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: o.sessionTimeoutMs }),
        ...(o.memberId === undefined ? {} : { memberId: o.memberId }),
      });
      this.archivers.push(new TopicArchiver({
        stream: o.stream, consumer, writer: this.writer, table: topic as LakeTable,
        maxBatchRecords: o.maxBatchRecords ?? 100_000, maxBatchAgeMs: topic === 'reports' ? reportsAge : o.maxEventBatchAgeMs ?? EVENT_AGE_FACTOR * reportsAge,
        logger: this.logger, onStep: o.onStep,
      }));
    }
    this.loops = this.archivers.map((a) => this.run(a));
    if ((o.compactMinFiles ?? 8) > 0 || Object.keys(o.retentionDays ?? {}).length > 0) this.compaction = this.compactLoop();
    this.logger.info({ lake: o.lakeRoot, topics: this.archivers.map((a) => a.consumer.topic) }, 'archive worker started');
  }

  /** Writes every buffered record to the lake and commits, now. */
  async flush(): Promise<void> {
    for (const a of this.archivers) await a.flushAll();
  }

  /**
   * Archives what was published before the call (to the partitions this worker owns, within drainTimeoutMs), then
   * stops consuming, writes what is buffered, commits, leaves the group. Resolves once all of that is durable.
   * Before, it stopped at the records already polled, so a stop under load left part of what had been acknowledged
   * out of the lake until the next run (issue 15, item 8: 32,515 of 47,725 reports after `up` stopped).
   */
  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    // Compaction is optional work that a later run redoes: a pass over many hours can take minutes, which the drain
    // below would share the cores with and stop() wait for. The merge in progress is interrupted (a closed hour of a
    // full fleet is minutes of DuckDB work) and nothing of it is switched; every merge is redone by the next start. (Not what made the soak's stop take ~71 s: that was the HTTP server's close, docs/benchmarks.md.)
    this.compactionAbort.abort();
    await this.drain().catch((e: unknown) => {
      this.logger.warn({ err: (e as Error).message }, 'archive: draining before stop failed; what is left stays in the stream for the next run');
    });
    this.abort.abort();
    await Promise.all(this.loops);
    await this.compaction;
    let failure: unknown;
    for (const a of this.archivers) {
      try {
        await a.flushAll();
      } catch (e) {
        failure ??= e;
        this.logger.error({ topic: a.consumer.topic, err: (e as Error).message }, 'archive: final flush failed; the records stay in the stream for the next run');
      }
      await a.consumer.close().catch(() => undefined);
    }
    await this.writer?.close();
    if (this.ownsStore) await this.store?.close();
    this.logger.info(this.stats(), 'archive worker stopped');
    if (failure) throw failure;
  }

  /**
   * Waits until the group's committed offset of every partition this worker owns reaches that partition's end as it
   * was when stop() was called, flushing as it goes; the poll loops keep reading meanwhile.
   */
  private async drain(): Promise<void> {
    const o = this.opts;
    const group = o.group ?? 'archive';
    const deadline = Date.now() + (o.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
    const targets = new Map<TopicArchiver, Map<number, number>>();
    for (const a of this.archivers) {
      targets.set(a, new Map((await o.stream.lag(a.consumer.topic, group)).map((l) => [l.partition, l.end])));
    }
    // Flush once a topic's poll caught up (its buffer stopped growing) or every second: not after every poll,
    // which would write a small file per partition each time.
    const lastBuffered = new Map<TopicArchiver, number>();
    let lastFlush = 0;
    for (;;) {
      let left = 0;
      const flushNow = Date.now() - lastFlush >= 1000;
      for (const a of this.archivers) {
        const buffered = a.buffered();
        if (flushNow || buffered === lastBuffered.get(a)) await a.flushAll(); // a lake write failing ends the drain
        lastBuffered.set(a, a.buffered());
        const committed = new Map((await o.stream.lag(a.consumer.topic, group)).map((l) => [l.partition, l.committed]));
        for (const p of a.consumer.assignment()) {
          const end = targets.get(a)!.get(p) ?? -1;
          left += Math.max(0, end - (committed.get(p) ?? -1));
        }
      }
      if (flushNow) lastFlush = Date.now();
      if (left === 0) return;
      if (Date.now() >= deadline) {
        this.logger.warn({ left }, 'archive: stopping before every record published before stop() is in the lake; the rest stays in the stream for the next run');
        return;
      }
      await sleep(100, new AbortController().signal);
    }
  }

  stats(): ArchiveStats {
    const perTopic: Record<string, TopicStats> = {};
    const partitions: Record<string, number[]> = {};
    const total = emptyTopicStats();
    let buffered = 0;
    for (const a of this.archivers) {
      const s = a.stats;
      perTopic[a.consumer.topic] = { ...s, flushStepMs: { ...s.flushStepMs } };
      for (const [k, ms] of Object.entries(s.flushStepMs) as [ProtocolStep, number][]) total.flushStepMs[k] += ms;
      partitions[a.consumer.topic] = a.ownedPartitions();
      buffered += a.buffered();
      for (const k of ['rowsWritten', 'filesWritten', 'batchesWritten', 'rejected', 'skipped', 'buffersDropped', 'recoveries'] as const) total[k] += s[k];
      if (s.lastFlushAt > total.lastFlushAt) {
        total.lastFlushAt = s.lastFlushAt;
        total.lastFlushMs = s.lastFlushMs;
      }
    }
    return { ...total, buffered, ...this.counters, partitions, perTopic };
  }

  private async run(a: TopicArchiver): Promise<void> {
    const signal = this.abort.signal;
    const maxRecords = Math.min(5000, this.opts.maxBatchRecords ?? 100_000);
    const waitMs = Math.min(200, this.opts.maxBatchAgeMs ?? DEFAULT_MAX_BATCH_AGE_MS);
    let backoff = 0;
    while (!signal.aborted) {
      let records;
      try {
        records = await a.consumer.poll({ maxRecords, waitMs, signal });
      } catch (e) {
        if (signal.aborted) break;
        this.counters.pollErrors++;
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        this.logger.error({ topic: a.consumer.topic, err: (e as Error).message, retryInMs: backoff }, 'archive: poll failed');
        await sleep(backoff, signal);
        continue;
      }
      if (signal.aborted && records.length === 0) break;
      try {
        await a.handle(records);
        backoff = 0;
      } catch (e) {
        this.counters.flushErrors++;
        backoff = Math.min(30_000, Math.max(500, backoff * 2));
        this.logger.error({ topic: a.consumer.topic, err: (e as Error).message, retryInMs: backoff }, 'archive: writing to the lake failed; will retry');
        await sleep(backoff, signal);
      }
    }
  }

  private async compactLoop(): Promise<void> {
    const o = this.opts;
    const signal = this.compactionAbort.signal;
    const every = o.compactIntervalMs ?? 60_000;
    const olderThanMs = o.compactOlderThanMs ?? Math.max(60_000, 2 * (o.maxBatchAgeMs ?? DEFAULT_MAX_BATCH_AGE_MS));
    const windowMs = (o.compactWindowHours ?? 48) * 3_600_000;
    let lastRetention = 0;
    for (;;) {
      await sleep(every, signal);
      if (signal.aborted) return;
      const retentionDue = Date.now() - lastRetention >= 3_600_000;
      for (const a of this.archivers) {
        const table = a.consumer.topic as LakeTable;
        try {
          if ((o.compactMinFiles ?? 8) > 0) {
            const opts = {
              table, minFiles: o.compactMinFiles ?? 8, olderThanMs, hours: { from: new Date(Date.now() - windowMs) },
              compressionLevel: o.compactionLevel ?? DEFAULT_COMPACTION_LEVEL, hourCompressionLevel: o.compactionHourLevel ?? DEFAULT_HOUR_COMPACTION_LEVEL, memoryLimit: o.compactMemoryLimit ?? DEFAULT_COMPACTION_MEMORY_LIMIT, ...(o.scratchDir ? { scratchDir: o.scratchDir } : {}),
            };
            // Every pass with a merge to do in a child process: a closed hour's merge takes a whole tenant-hour (up
            // to compactMemoryLimit of DuckDB), and the open hours' partition merges, which grow through the hour,
            // left the thread's allocator arenas 40-100 MiB larger and a 400 MiB spike of RSS near the 9th minute of
            // a 10-minute soak (none with compaction off; docs/benchmarks.md). A pass with nothing to merge starts no
            // process: the plan is made here first, and the child merges that plan.
            const plan = (o.compactIn ?? 'child') === 'child' && !o.store ? await planCompaction(this.store!, opts) : undefined;
            const r = plan !== undefined && plan.groups.length > 0
              ? await compactLakeInChild(o.lakeRoot, { ...opts, plan }, { logger: this.logger, signal })
              : await compactLake(this.store!, { ...opts, ...(plan ? { plan } : {}), logger: this.logger, signal });
            if (r.merged > 0) this.counters.compactions += r.merged;
          }
          const days = o.retentionDays?.[table];
          if (retentionDue && days !== undefined) await applyRetention(this.store!, { table, maxAgeDays: days, logger: this.logger });
        } catch (e) {
          this.counters.compactionErrors++;
          this.logger.error({ table, err: (e as Error).message }, 'archive: compaction or retention failed; will retry');
        }
        if (signal.aborted) return;
      }
      if (retentionDue) lastRetention = Date.now();
    }
  }
}
