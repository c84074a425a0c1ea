import { randomBytes } from 'node:crypto';
import { fairShare } from '../../../stream/fair-share.ts';
import os from 'node:os';
import type { KV } from '@nats-io/kv';
import { StreamClosedError } from '../../../errors/index.ts';
import type { Logger } from '../../../util/log.ts';
import { StreamNotOwnerError } from '../../../stream/errors.ts';
import type { CommitPosition, ConsumerOptions, PollOptions, StartPosition, StreamConsumer, StreamRecord } from '../../../stream/types.ts';
import { GroupMember } from './group.ts';
import { joinTransient, leaveTransient } from './transient-groups.ts';
import { GroupState } from './group-state.ts';
import { durableName, groupPrefix, partitionFilter } from './names.ts';
import { checkPosition, type Positions } from './positions.ts';
import { firstOffset } from './packing.ts';
import { PartitionReader, type ReaderContext } from './reader.ts';
import { errorText, isTransient, withRetry, type RetryOptions } from './retry.ts';
import type { TopicMeta } from './topics.ts';

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

/** What a consumer needs from its stream. */
export interface NatsConsumerContext {
  kv: KV;
  positions: Positions;
  tenant: string;
  reader: Omit<ReaderContext, 'topic' | 'wake' | 'stream' | 'packed'>;
  logger: Logger;
  joinTimeoutMs: number;
  retry: RetryOptions;
  closed: () => boolean;
  onClose: (c: NatsConsumer) => void;
}

interface Owned {
  epoch: number;
  reader: PartitionReader;
}

/**
 * A consumer group member (see group.ts for the KV protocol, reader.ts for the JetStream consumers). Membership is
 * re-evaluated when the group's view changes (KV watch), on a timer every sessionTimeoutMs / 3, and on a poll when
 * the lease is older than a tenth of the session timeout, exactly like the embedded log's members.
 */
export class NatsConsumer implements StreamConsumer {
  readonly topic: string;
  readonly group: string;
  readonly memberId: string;
  private readonly start: StartPosition;
  private readonly transient: boolean;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly owned = new Map<number, Owned>();
  private readonly state: GroupState;
  private readonly member: GroupMember;
  private readonly timer: NodeJS.Timeout;
  private readonly waiters = new Set<() => void>();
  /** Per partition: the commit in progress, so commits of one partition apply in call order. */
  private readonly commitChains = new Map<number, Promise<unknown>>();
  private seenVersion = -1;
  private lastRenew = 0;
  private roundRobin = 0;
  private syncing: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly ctx: NatsConsumerContext, private readonly meta: TopicMeta, opts: ConsumerOptions) {
    if (typeof opts.group !== 'string' || opts.group.length === 0) throw new TypeError('consumer group must be a non-empty string');
    this.topic = meta.name;
    this.group = opts.group;
    this.memberId = opts.memberId ?? `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.start = opts.start ?? 'earliest';
    this.transient = opts.transient === true;
    checkPosition(this.start);
    this.leaseMs = opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (!(this.leaseMs > 0)) throw new RangeError(`sessionTimeoutMs must be positive, got ${this.leaseMs}`);
    this.renewEveryMs = this.leaseMs / 10;
    this.state = new GroupState(ctx.kv, groupPrefix(meta.name, ctx.tenant, this.group), () => this.wake(), ctx.logger);
    this.member = new GroupMember(ctx.kv, this.state, this.memberId, this.leaseMs, ctx.logger);
    this.timer = setInterval(() => this.heartbeat(), Math.max(10, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  static async open(ctx: NatsConsumerContext, meta: TopicMeta, opts: ConsumerOptions): Promise<NatsConsumer> {
    const c = new NatsConsumer(ctx, meta, opts);
    try {
      await c.state.start();
      const now = Date.now();
      if (c.transient) await joinTransient(ctx.kv, meta.name, ctx.tenant, c.group, now, ctx.logger);
      await c.member.join(now, ctx.joinTimeoutMs);
      c.lastRenew = now;
      await c.sync(true);
    } catch (e) {
      await c.close();
      throw e;
    }
    return c;
  }

  async poll(opts: PollOptions = {}): Promise<StreamRecord[]> {
    this.ensureOpen();
    const max = opts.maxRecords ?? 1000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxRecords must be a positive integer, got ${max}`);
    const deadline = Date.now() + Math.max(0, opts.waitMs ?? 100);
    const signal = opts.signal;
    for (;;) {
      if (this.closed || signal?.aborted) return [];
      await this.sync(false);
      const records = this.take(max);
      if (records.length > 0) return records;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.sleep(Math.min(left, this.renewEveryMs), signal);
    }
  }

  async commit(positions: readonly (StreamRecord | CommitPosition)[]): Promise<void> {
    this.ensureOpen();
    const wanted = new Map<number, number>();
    const notOwned: number[] = [];
    for (const pos of positions) {
      if (!this.owned.has(pos.partition)) { if (!notOwned.includes(pos.partition)) notOwned.push(pos.partition); continue; }
      const prev = wanted.get(pos.partition);
      if (prev === undefined || pos.offset > prev) wanted.set(pos.partition, pos.offset);
    }
    if (notOwned.length > 0) throw new StreamNotOwnerError(this.topic, this.group, notOwned.sort((a, b) => a - b));
    const refused: number[] = [];
    await Promise.all([...wanted].map(([p, offset]) => this.commitPartition(p, offset).then((ok) => { if (!ok) refused.push(p); })));
    if (refused.length > 0) throw new StreamNotOwnerError(this.topic, this.group, refused.sort((a, b) => a - b));
  }

  async seek(partition: number, position: StartPosition): Promise<void> {
    this.ensureOpen();
    checkPosition(position);
    await this.sync(false);
    const o = this.owned.get(partition);
    if (!o) throw new StreamNotOwnerError(this.topic, this.group, [partition]);
    const start = await this.ctx.positions.startOffset(this.meta, this.filter(partition), position);
    await o.reader.seek(start);
  }

  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    for (const w of [...this.waiters]) w();
    await this.syncing?.catch(() => undefined);
    const epochs = new Map<number, number>();
    for (const [p, o] of this.owned) epochs.set(p, o.epoch);
    await Promise.all([...this.owned.values()].map((o) => o.reader.stop()));
    this.owned.clear();
    try {
      if (!this.ctx.closed()) {
        await this.member.leave(epochs);
        if (this.transient) await leaveTransient(this.ctx.kv, this.topic, this.ctx.tenant, this.group, this.memberId, Date.now());
      }
    } catch (e) {
      // The lease expires by itself; the others take the partitions after the session timeout.
      this.ctx.logger.warn({ err: e, topic: this.topic, group: this.group }, 'stream consumer: leaving the group failed');
    }
    this.state.stop();
    this.ctx.onClose(this);
  }

  private ensureOpen(): void {
    if (this.closed || this.ctx.closed()) throw new StreamClosedError();
  }

  private filter(partition: number): string {
    return partitionFilter(this.meta.name, this.ctx.tenant, partition);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  private heartbeat(): void {
    if (this.closed) return;
    this.sync(true)
      .then(() => Promise.all([...this.owned.values()].map((o) => o.reader.verify())))
      .catch((e: unknown) => this.ctx.logger.warn({ err: errorText(e), topic: this.topic, group: this.group }, 'stream consumer: heartbeat failed'));
  }

  /** Rebalances when the group changed since we last looked or the lease needs renewing (or `force`). One at a time. */
  private async sync(force: boolean): Promise<void> {
    while (this.syncing) await this.syncing.catch(() => undefined);
    if (this.closed) return;
    const now = Date.now();
    if (!force && this.state.version === this.seenVersion && now - this.lastRenew < this.renewEveryMs) return;
    this.syncing = this.rebalance().finally(() => { this.syncing = undefined; });
    await this.syncing;
  }

  /** Transient failures (failover, timeouts) leave membership as it is until the next try; others surface in poll. */
  private async rebalance(): Promise<void> {
    try {
      await this.rebalanceOnce();
    } catch (e) {
      if (!isTransient(e) || this.closed) throw e;
      this.ctx.logger.info({ err: errorText(e), topic: this.topic, group: this.group }, 'stream consumer: rebalance failed; retrying');
    }
  }

  private async rebalanceOnce(): Promise<void> {
    let now = Date.now();
    if (now - this.lastRenew >= this.renewEveryMs) {
      try {
        await this.member.renew(now);
        this.lastRenew = now;
      } catch (e) {
        if (!isTransient(e)) throw e;
        this.ctx.logger.info({ err: errorText(e), topic: this.topic, group: this.group }, 'stream consumer: lease renewal failed; retrying');
        // Unable to prove we still hold the lease: others may have taken our partitions, stop serving them.
        if (now - this.lastRenew > this.leaseMs) await this.dropAll();
        return;
      }
    }
    now = Date.now();
    this.seenVersion = this.state.version;
    // Partitions the view says we lost (taken with a new epoch by a member that found our lease expired).
    for (const [p, o] of [...this.owned]) {
      const e = this.state.partitions.get(p);
      if (!e || e.owner !== this.memberId || e.epoch !== o.epoch) await this.drop(p);
    }
    const live = this.state.liveMembers(now);
    if (!live.includes(this.memberId)) return;
    const n = live.length;
    const P = this.meta.partitions;
    const quota = Math.floor(P / n) + (live.indexOf(this.memberId) < P % n ? 1 : 0);
    const mine = this.assignment();
    if (mine.length > quota) {
      for (const p of mine.slice(quota)) {
        const o = this.owned.get(p)!;
        await this.drop(p);
        await this.member.release(p, o.epoch);
      }
    } else if (mine.length < quota) {
      const liveSet = new Set(live);
      let count = mine.length;
      for (let p = 0; p < P && count < quota; p++) {
        if (this.owned.has(p)) continue;
        const e = this.state.partitions.get(p);
        // Ours in the view but not here: dropped while the lease could not be renewed; take it again (new epoch).
        if (e && e.owner !== null && e.owner !== this.memberId && liveSet.has(e.owner)) continue;
        const taken = await this.member.take(p, e, () => this.initialCommitted(p));
        if (!taken || this.closed) continue;
        this.adopt(p, taken.epoch, taken.committed);
        count++;
      }
    }
    if (now - this.lastRenew < this.renewEveryMs) void this.member.reap(now).catch(() => undefined);
  }

  /** The group's start position as a committed offset (-1: before the first record). */
  private async initialCommitted(partition: number): Promise<number> {
    const start = await this.ctx.positions.startOffset(this.meta, this.filter(partition), this.start);
    return start <= firstOffset(this.meta) ? -1 : start - 1;
  }

  /** Starts reading a partition just taken, after the group's committed offset. */
  private adopt(partition: number, epoch: number, committed: number): void {
    const reader = new PartitionReader(
      { ...this.ctx.reader, stream: this.meta.stream, topic: this.topic, packed: this.meta.packed, wake: () => this.wake() },
      partition,
      this.filter(partition),
      durableName(this.ctx.tenant, this.group, partition, epoch),
      Math.max(firstOffset(this.meta), committed + 1),
      epoch > 1 ? durableName(this.ctx.tenant, this.group, partition, epoch - 1) : undefined,
    );
    this.owned.set(partition, { epoch, reader });
    reader.start();
  }

  private async drop(partition: number): Promise<void> {
    const o = this.owned.get(partition);
    if (!o) return;
    this.owned.delete(partition);
    await o.reader.stop();
  }

  private async dropAll(): Promise<void> {
    for (const p of [...this.owned.keys()]) await this.drop(p);
  }

  private commitPartition(partition: number, offset: number): Promise<boolean> {
    const prev = this.commitChains.get(partition) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(async () => {
      const o = this.owned.get(partition);
      if (!o) return false;
      const ok = await withRetry(`commit of partition ${partition}`, this.ctx.retry, () => this.member.commit(partition, o.epoch, offset));
      if (!ok) {
        // Lost since the last rebalance: stop returning that partition's records at once.
        if (this.owned.get(partition) === o) await this.drop(partition);
        return false;
      }
      o.reader.ackUpTo(offset);
      return true;
    });
    this.commitChains.set(partition, run);
    void run.finally(() => { if (this.commitChains.get(partition) === run) this.commitChains.delete(partition); }).catch(() => undefined);
    return run;
  }

  /** Up to max records from owned partitions that have some, sharing max between them, rotating who goes first. */
  private take(max: number): StreamRecord[] {
    const ready = [...this.owned].filter(([, o]) => o.reader.buffered() > 0).map(([p]) => p);
    if (ready.length === 0) return [];
    const minTs = this.meta.maxAgeMs > 0 ? Date.now() - this.meta.maxAgeMs : -Infinity;
    return fairShare(ready, this.roundRobin++, max, (p, n) => {
      const reader = this.owned.get(p)!.reader;
      return { records: reader.take(n, minTs), more: reader.buffered() > 0 };
    });
  }

  private sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      let done = false;
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        this.waiters.delete(finish);
        signal?.removeEventListener('abort', finish);
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.waiters.add(finish);
      signal?.addEventListener('abort', finish, { once: true });
    });
  }
}
