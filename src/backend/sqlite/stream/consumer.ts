import { randomBytes } from 'node:crypto';
import { fairShare } from '../../../stream/fair-share.ts';
import os from 'node:os';
import { StreamClosedError } from '../../../errors/index.ts';
import { StreamNotOwnerError } from '../../../stream/errors.ts';
import type { CommitPosition, ConsumerOptions, PollOptions, StartPosition, StreamConsumer, StreamRecord } from '../../../stream/types.ts';
import type { TopicCatalog, TopicMeta } from './catalog.ts';
import type { GroupStore, MembershipView } from './group.ts';
import type { FileNotifier } from './notifier.ts';
import { retryBusy } from './busy.ts';
import { boundsOf, resolveStart } from './positions.ts';
import { readRecords, type BatchCache } from './rows.ts';
import type { Logger } from '../../../util/log.ts';

/** What a consumer needs from its stream. */
export interface ConsumerContext {
  catalog: TopicCatalog;
  groups: GroupStore;
  notifier: FileNotifier;
  logger: Logger;
  /** Next offset to be assigned, per partition. */
  nextOffsets(meta: TopicMeta): number[];
  /** Longest a waiting poll sleeps between checks when nothing wakes it (other processes' writes). */
  fallbackPollMs: number;
  onClose(consumer: SqliteConsumer): void;
}

interface Owned {
  epoch: number;
  /** Offset of the next record to return. */
  pos: number;
  cache: BatchCache;
}

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

export class SqliteConsumer implements StreamConsumer {
  readonly topic: string;
  readonly group: string;
  readonly memberId: string;
  private readonly start: StartPosition;
  private readonly transient: boolean;
  private readonly leaseMs: number;
  /** A poll renews the lease when the last renewal is older than this, bounding heartbeat writes. */
  private readonly renewEveryMs: number;
  private readonly owned = new Map<number, Owned>();
  private generation = -2;
  private lastRenew = 0;
  private roundRobin = 0;
  private closed = false;
  private readonly timer: NodeJS.Timeout;
  private readonly wakeSelf = new Set<() => void>();

  constructor(private readonly ctx: ConsumerContext, private readonly meta: TopicMeta, opts: ConsumerOptions) {
    if (typeof opts.group !== 'string' || opts.group.length === 0) throw new TypeError('consumer group must be a non-empty string');
    this.topic = meta.name;
    this.group = opts.group;
    this.memberId = opts.memberId ?? `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.start = opts.start ?? 'earliest';
    this.transient = opts.transient === true;
    this.leaseMs = opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (!(this.leaseMs > 0)) throw new RangeError(`sessionTimeoutMs must be positive, got ${this.leaseMs}`);
    this.renewEveryMs = this.leaseMs / 10;
    this.rebalance(Date.now());
    this.timer = setInterval(() => this.heartbeat(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async poll(opts: PollOptions = {}): Promise<StreamRecord[]> {
    this.ensureOpen();
    const max = opts.maxRecords ?? 1000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxRecords must be a positive integer, got ${max}`);
    const waitMs = opts.waitMs ?? 100;
    const deadline = Date.now() + Math.max(0, waitMs);
    const signal = opts.signal;
    for (;;) {
      if (this.closed || signal?.aborted) return [];
      const now = Date.now();
      this.sync(now);
      const records = this.fetch(max);
      if (records.length > 0) return records;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.sleep(Math.min(left, this.ctx.fallbackPollMs), signal);
    }
  }

  async commit(positions: readonly (StreamRecord | CommitPosition)[]): Promise<void> {
    this.ensureOpen();
    const wanted = new Map<number, { offset: number; epoch: number }>();
    const notOwned: number[] = [];
    for (const pos of positions) {
      const o = this.owned.get(pos.partition);
      if (!o) { if (!notOwned.includes(pos.partition)) notOwned.push(pos.partition); continue; }
      const prev = wanted.get(pos.partition);
      if (!prev || pos.offset > prev.offset) wanted.set(pos.partition, { offset: pos.offset, epoch: o.epoch });
    }
    if (notOwned.length > 0) throw new StreamNotOwnerError(this.topic, this.group, notOwned.sort((a, b) => a - b));
    if (wanted.size === 0) return;
    let now = Date.now();
    const refused = await retryBusy(() => {
      this.ensureOpen();
      now = Date.now();
      return this.ctx.groups.commit(this.meta, this.group, this.memberId, wanted, now, this.leaseMs);
    });
    if (refused.length > 0) {
      // Lost since the last rebalance: stop returning those partitions' records at once.
      for (const p of refused) this.owned.delete(p);
      throw new StreamNotOwnerError(this.topic, this.group, refused.sort((a, b) => a - b));
    }
    this.lastRenew = now;
  }

  async seek(partition: number, position: StartPosition): Promise<void> {
    this.ensureOpen();
    this.sync(Date.now());
    const o = this.owned.get(partition);
    if (!o) throw new StreamNotOwnerError(this.topic, this.group, [partition]);
    const stmts = this.ctx.catalog.partitionStmts(this.meta, partition);
    o.pos = resolveStart(stmts, boundsOf(stmts, this.ctx.nextOffsets(this.meta)[partition] ?? 0), position);
  }

  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    this.closeNow();
  }

  /** Synchronous close, used by the stream's close. */
  closeNow(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.owned.clear();
    for (const w of [...this.wakeSelf]) w();
    try {
      this.ctx.groups.leave(this.meta, this.group, this.memberId);
      this.ctx.notifier.notify(this.topic);
    } catch (e) {
      // The lease expires by itself; the others take the partitions after the session timeout.
      this.ctx.logger.warn({ err: e, topic: this.topic, group: this.group }, 'stream consumer: leaving the group failed');
    }
    this.ctx.onClose(this);
  }

  private ensureOpen(): void {
    if (this.closed) throw new StreamClosedError();
  }

  /** Rebalances when the group changed since we last looked or our lease needs renewing; else costs one small read. */
  private sync(now: number): void {
    if (now - this.lastRenew >= this.renewEveryMs || this.ctx.groups.generation(this.meta, this.group) !== this.generation) this.rebalance(now);
  }

  private heartbeat(): void {
    if (this.closed) return;
    try {
      this.rebalance(Date.now());
    } catch (e) {
      this.ctx.logger.warn({ err: e, topic: this.topic, group: this.group }, 'stream consumer: heartbeat failed');
    }
  }

  private rebalance(now: number): void {
    const view: MembershipView = this.ctx.groups.rebalance(this.meta, this.group, this.memberId, now, this.leaseMs, (p) => this.resolveInitial(p), this.transient);
    this.lastRenew = now;
    this.generation = view.generation;
    const current = new Set<number>();
    for (const o of view.owned) {
      current.add(o.partition);
      const local = this.owned.get(o.partition);
      // A new epoch means the partition was lost and taken again: resume from the committed offset.
      if (!local || local.epoch !== o.epoch) this.owned.set(o.partition, { epoch: o.epoch, pos: o.committed + 1, cache: { batch: undefined } });
    }
    for (const p of [...this.owned.keys()]) if (!current.has(p)) this.owned.delete(p);
    if (view.changed) {
      this.ctx.notifier.notify(this.topic);
    }
  }

  private resolveInitial(partition: number): number {
    const stmts = this.ctx.catalog.partitionStmts(this.meta, partition);
    return resolveStart(stmts, boundsOf(stmts, this.ctx.nextOffsets(this.meta)[partition] ?? 0), this.start);
  }

  /** Reads up to max records from owned partitions that have some, sharing max between them, rotating who goes first. */
  private fetch(max: number): StreamRecord[] {
    if (this.owned.size === 0) return [];
    const next = this.ctx.nextOffsets(this.meta);
    const ready: number[] = [];
    for (const [p, o] of this.owned) if ((next[p] ?? 0) > o.pos) ready.push(p);
    if (ready.length === 0) return [];
    return fairShare(ready, this.roundRobin++, max, (p, n) => {
      const o = this.owned.get(p)!;
      const records: StreamRecord[] = [];
      const got = readRecords(this.ctx.catalog.partitionStmts(this.meta, p), this.topic, p, o.pos, n, records, o.cache, next[p]);
      if (got > 0) o.pos = records[got - 1]!.offset + 1;
      // A full page may be followed by more; a short one means the partition is drained for this poll.
      return { records, more: got === n };
    });
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        unregister();
        this.wakeSelf.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      const unregister = this.ctx.notifier.wait(this.topic, finish);
      this.wakeSelf.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }
}
