import { realpathSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { StreamClosedError } from '../../../errors/index.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import { WalCheckpointer } from '../../../util/wal-checkpointer.ts';
import type { ConsumerOptions, OutgoingRecord, PartitionLag, PublishAck, ReadOptions, Stream, StreamConsumer, StreamRecord, TopicConfig } from '../../../stream/types.ts';
import { TopicCatalog, type TopicMeta } from './catalog.ts';
import { SqliteConsumer, type ConsumerContext } from './consumer.ts';
import { GroupStore } from './group.ts';
import { acquireNotifier, releaseNotifier, type FileNotifier } from './notifier.ts';
import { boundsOf, resolveStart } from './positions.ts';
import { Publisher } from './publish.ts';
import { Retention } from './retention.ts';
import { readRecords } from './rows.ts';
import { openDb, type Db, type SyncLevel } from './schema.ts';

export interface SqliteStreamOptions {
  /** `normal` (default) survives a crash of the process; `full` also survives power loss (an fsync per commit). */
  sync?: SyncLevel;
  /** How long a write waits for another process's write transaction before failing. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** How often retention and dedup pruning run by themselves; 0 disables. Default 30 000 ms. */
  maintenanceIntervalMs?: number;
  /** Longest a waiting poll goes without re-checking when no wakeup arrives. Default 20 ms. */
  fallbackPollMs?: number;
  /** Run WAL checkpoints in a worker thread rather than on the committing connection (util/wal-checkpointer.ts). Default true. */
  checkpointThread?: boolean;
  logger?: Logger;
}

const DEFAULT_READ_LIMIT = 1000;

/** The embedded stream: a partitioned, replayable log with consumer groups in one SQLite file (see docs/stream.md). */
export class SqliteStream implements Stream {
  readonly name: string;
  readonly file: string;
  private readonly db: Db;
  private readonly catalog: TopicCatalog;
  private readonly publisher: Publisher;
  private readonly groupStore: GroupStore;
  private readonly retention: Retention;
  private readonly notifier: FileNotifier;
  private readonly notifierKey: string;
  private readonly consumers = new Set<SqliteConsumer>();
  private readonly consumerCtx: ConsumerContext;
  private readonly selectNext: Database.Statement;
  private readonly claimMaintenance: Database.Statement;
  private readonly maintenanceTimer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private maintenanceRunning: Promise<void> | undefined;
  private closed = false;
  private checkpointer: WalCheckpointer | undefined;

  private constructor(file: string, opts: SqliteStreamOptions) {
    this.file = path.resolve(file);
    this.name = `sqlite:${this.file}`;
    this.logger = opts.logger ?? silentLogger;
    this.db = openDb(this.file, { sync: opts.sync ?? 'normal', busyTimeoutMs: opts.busyTimeoutMs ?? 5000 });
    this.catalog = new TopicCatalog(this.db);
    this.groupStore = new GroupStore(this.db);
    this.notifierKey = realpathSync(this.file);
    this.notifier = acquireNotifier(this.notifierKey);
    this.publisher = new Publisher(this.db, this.catalog, (topics) => { for (const t of topics) this.notifier.notify(t); });
    this.retention = new Retention(this.db, this.catalog, () => !this.closed);
    this.selectNext = this.db.prepare('SELECT partition, next_off FROM heads WHERE topic_id = ?').raw(true);
    this.db.prepare("INSERT OR IGNORE INTO meta (key, value) VALUES ('maintenance_at', 0)").run();
    this.claimMaintenance = this.db.prepare("UPDATE meta SET value = ? WHERE key = 'maintenance_at' AND value <= ?");
    this.consumerCtx = {
      catalog: this.catalog,
      groups: this.groupStore,
      notifier: this.notifier,
      logger: this.logger,
      nextOffsets: (meta) => this.nextOffsets(meta),
      fallbackPollMs: opts.fallbackPollMs ?? 20,
      onClose: (c) => { this.consumers.delete(c); },
    };
    const every = opts.maintenanceIntervalMs ?? 30_000;
    if (every > 0) {
      this.maintenanceTimer = setInterval(() => this.periodicMaintenance(every), every);
      this.maintenanceTimer.unref();
    }
  }

  /** Opens (creating if needed) the stream database file. */
  static async open(file: string, opts: SqliteStreamOptions = {}): Promise<SqliteStream> {
    const stream = new SqliteStream(file, opts);
    if (opts.checkpointThread !== false) stream.checkpointer = await WalCheckpointer.start(stream.db, stream.file);
    return stream;
  }

  async ensureTopic(topic: string, config: TopicConfig): Promise<void> {
    this.ensureOpen();
    this.catalog.ensure(topic, config);
  }

  async partitionsOf(topic: string): Promise<number> {
    this.ensureOpen();
    return this.catalog.get(topic).partitions;
  }

  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    this.ensureOpen();
    const meta = this.catalog.get(topic);
    if (records.length === 0) return [];
    return this.publisher.publish(meta, records);
  }

  async consumer(opts: ConsumerOptions): Promise<StreamConsumer> {
    this.ensureOpen();
    const c = new SqliteConsumer(this.consumerCtx, this.catalog.get(opts.topic), opts);
    this.consumers.add(c);
    return c;
  }

  /**
   * Records of one partition, or of all partitions merged by append time (each partition still in offset order),
   * from a start position (default earliest), at most `limit` (default 1000).
   */
  async read(topic: string, opts: ReadOptions = {}): Promise<StreamRecord[]> {
    this.ensureOpen();
    const meta = this.catalog.get(topic);
    const limit = opts.limit ?? DEFAULT_READ_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
    if (opts.partition !== undefined && (!Number.isInteger(opts.partition) || opts.partition < 0 || opts.partition >= meta.partitions)) {
      throw new RangeError(`partition must be in 0..${meta.partitions - 1}, got ${opts.partition}`);
    }
    const from = opts.from ?? 'earliest';
    const next = this.nextOffsets(meta);
    const partitions = opts.partition === undefined ? [...Array(meta.partitions).keys()] : [opts.partition];
    const out: StreamRecord[] = [];
    for (const p of partitions) {
      const stmts = this.catalog.partitionStmts(meta, p);
      const start = resolveStart(stmts, boundsOf(stmts, next[p] ?? 0), from);
      if (limit > 0) readRecords(stmts, topic, p, start, limit, out);
    }
    if (partitions.length > 1) out.sort((a, b) => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset);
    return out.length > limit ? out.slice(0, limit) : out;
  }

  async groups(topic: string): Promise<string[]> {
    this.ensureOpen();
    return this.groupStore.groups(this.catalog.get(topic));
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    this.ensureOpen();
    const meta = this.catalog.get(topic);
    const next = this.nextOffsets(meta);
    const committed = this.groupStore.committed(meta, group);
    const out: PartitionLag[] = [];
    for (let p = 0; p < meta.partitions; p++) {
      const n = next[p] ?? 0;
      const c = committed[p] ?? -1;
      const { earliest } = boundsOf(this.catalog.partitionStmts(meta, p), n);
      out.push({ partition: p, committed: c, end: n - 1, lag: Math.max(0, n - Math.max(c + 1, earliest)) });
    }
    return out;
  }

  async enforceRetention(): Promise<void> {
    this.ensureOpen();
    // A run already in progress may have started with an older cutoff: let it finish, then run with the current time.
    await this.maintenanceRunning?.catch(() => undefined);
    await this.runMaintenance();
  }

  /** Live members and partition owners of a group (inspection). */
  async describeGroup(topic: string, group: string): Promise<{ members: string[]; owners: (string | null)[] }> {
    this.ensureOpen();
    return this.groupStore.describe(this.catalog.get(topic), group);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    // Accepted publishes are committed before the connection goes.
    this.publisher.flush();
    for (const c of [...this.consumers]) c.closeNow();
    this.closed = true;
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await this.maintenanceRunning?.catch(() => undefined);
    releaseNotifier(this.notifierKey, this.notifier);
    await this.checkpointer?.stop();
    this.db.close();
  }

  private ensureOpen(): void {
    if (this.closed) throw new StreamClosedError();
  }

  private nextOffsets(meta: TopicMeta): number[] {
    const next = new Array<number>(meta.partitions).fill(0);
    for (const [p, n] of this.selectNext.all(meta.id) as [number, number][]) next[p] = n;
    return next;
  }

  private runMaintenance(): Promise<void> {
    if (!this.maintenanceRunning) {
      this.maintenanceRunning = this.retention.enforce(Date.now()).finally(() => { this.maintenanceRunning = undefined; });
    }
    return this.maintenanceRunning;
  }

  /** Every process sharing the file runs this timer; the claim in the db lets only one of them do the work each period. */
  private periodicMaintenance(every: number): void {
    if (this.closed || this.maintenanceRunning) return;
    const now = Date.now();
    try {
      if (this.claimMaintenance.run(now, now - every * 0.9).changes === 0) return;
    } catch (e) {
      this.logger.warn({ err: e }, 'stream: maintenance claim failed');
      return;
    }
    this.runMaintenance().catch((e: unknown) => this.logger.warn({ err: e }, 'stream: retention failed'));
  }
}
