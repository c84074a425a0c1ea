/**
 * A consumer group member on a Kafka consumer group owned by the broker (classic protocol: JoinGroup, SyncGroup,
 * Heartbeat, LeaveGroup, run by @platformatic/kafka's Consumer). No leases of our own: the broker decides who is in
 * the group (session timeout, per member) and the group leader's round-robin assignor shares the partitions.
 *
 * The assignment is eager: every rebalance starts a new generation, and at each one this member forgets its fetch
 * positions and buffered records and starts again from the group's committed offsets. That is what makes the fenced
 * commit (commit.ts) safe: records whose commit was refused because the generation changed are delivered again, to
 * whichever member owns their partition now. Records are fetched by this module (Fetch requests from the positions it
 * keeps), not by the client's message stream, so that poll() returns what is buffered and seek() is exact.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Base, Consumer, type BaseOptions, type ConsumerGroupJoinPayload } from '@platformatic/kafka';
import { StreamClosedError } from '../../errors/index.ts';
import { fairShare } from '../../stream/fair-share.ts';
import { StreamNotOwnerError } from '../../stream/errors.ts';
import type { CommitPosition, ConsumerOptions, PollOptions, StartPosition, StreamConsumer, StreamRecord } from '../../stream/types.ts';
import type { Logger } from '../../util/log.ts';
import type { TopicMeta } from './catalog.ts';
import { call, errorText, kafkaErrorIs } from './client.ts';
import { commitFenced, type Generation } from './commit.ts';
import { checkPosition, fetchPartitions, listOffsets, partitionsByLeader, resolvePositions } from './log.ts';
import { groupId } from './names.ts';

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;
/** Every Fetch is a long poll of this length: how late a seek or an assignment change can take effect. */
const MAX_FETCH_WAIT_MS = 500;
/**
 * A partition is fetched again while it has fewer records than this buffered (startFetch). Each Fetch brings at most
 * 1 MiB per partition, so a buffer holds at most this plus one fetch's worth.
 */
const BUFFER_HIGH_WATER = 4096;

export interface KafkaConsumerContext {
  /** Connection options shared by the stream's clients. */
  client: Pick<BaseOptions, 'bootstrapBrokers' | 'retries' | 'retryDelay' | 'connectTimeout'>;
  tenant: string;
  logger: Logger;
  retryForMs: number;
  closed: () => boolean;
  onClose: (c: KafkaConsumer) => void;
  /** After a transient member joined: removes the topic's dead transient groups. */
  onTransientJoin: (id: string) => Promise<void>;
  /** After a transient member left: deletes its group if nobody is left. */
  onTransientLeave: (id: string) => Promise<void>;
}

interface Owned {
  /** Next offset to fetch; undefined until read from the committed offsets. */
  position: bigint | undefined;
  buffer: StreamRecord[];
}

export class KafkaConsumer implements StreamConsumer {
  readonly topic: string;
  readonly group: string;
  readonly memberId: string;
  private readonly groupId: string;
  private readonly start: StartPosition;
  private readonly transient: boolean;
  private readonly client: Consumer;
  /** Connections for commits only, apart from the fetches' (commit.ts says why). */
  private readonly commits: Base;
  private owned = new Map<number, Owned>();
  private generation: Generation | undefined;
  /** Bumped at each assignment change and seek: fetch results of an older epoch are dropped. */
  private epoch = 0;
  /** Finding the leaders of the partitions to fetch (startFetch); at most one at a time. */
  private planning: Promise<void> | undefined;
  /** Leader brokers with a fetch in flight, and the partitions in those fetches. */
  private readonly leadersFetching = new Set<number>();
  private readonly inFetch = new Set<number>();
  private positioning: Promise<void> | undefined;
  private rejoin = false;
  private rotation = 0;
  private readonly waiters = new Set<() => void>();
  private closed = false;

  private constructor(private readonly ctx: KafkaConsumerContext, private readonly meta: TopicMeta, opts: ConsumerOptions) {
    this.topic = meta.name;
    this.group = opts.group;
    this.transient = opts.transient === true;
    this.groupId = groupId(ctx.tenant, meta.name, opts.group, this.transient);
    this.memberId = opts.memberId ?? `${os.hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.start = opts.start ?? 'earliest';
    checkPosition(this.start);
    const session = opts.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (!(Number.isInteger(session) && session > 0)) throw new RangeError(`sessionTimeoutMs must be a positive integer, got ${session}`);
    this.client = new Consumer({
      ...ctx.client,
      // Shown by describeGroups and the broker's logs: the member id the caller chose.
      clientId: this.memberId.replace(/\s/g, '_'),
      groupId: this.groupId,
      sessionTimeout: session,
      // A departed or new member is noticed by the others at their next heartbeat: a tenth of the session.
      heartbeatInterval: Math.max(100, Math.min(1000, Math.floor(session / 10))),
      // How long the coordinator waits for every member to rejoin; members rejoin within one heartbeat.
      rebalanceTimeout: session,
      // JoinGroup is answered only once the rebalance completes: requests must outlive it.
      timeout: Math.max(10_000, session + 5000),
      autocommit: false,
    });
    this.commits = new Base({ ...ctx.client, clientId: `${this.memberId.replace(/\s/g, '_')}-commits` });
    this.client.on('consumer:group:join', (p) => this.onJoin(p));
    // The client emits 'error' when rejoining after a rebalance failed for good; poll() joins again.
    this.client.on('error', (e: Error) => {
      this.ctx.logger.warn({ err: errorText(e), group: this.groupId }, 'stream consumer: lost the group; rejoining');
      this.rejoin = true;
      this.assign(undefined, []);
    });
  }

  static async open(ctx: KafkaConsumerContext, meta: TopicMeta, opts: ConsumerOptions): Promise<KafkaConsumer> {
    const c = new KafkaConsumer(ctx, meta, opts);
    try {
      if (c.transient) await ctx.onTransientJoin(c.groupId);
      c.client.topics.track(meta.kafka);
      await c.join();
      await c.ensurePositions();
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
      if (this.rejoin) await this.join().catch((e: unknown) => this.ctx.logger.warn({ err: errorText(e), group: this.groupId }, 'stream consumer: rejoin failed'));
      await this.ensurePositions();
      const records = this.take(max);
      // A fetch is kept in flight (a long poll the broker answers as soon as records arrive), also while the caller
      // works on the records returned and after a poll that timed out: a record appended meanwhile is on its way or
      // buffered when the next poll comes, instead of waiting for a fetch that poll would start. Like the Java
      // consumer's prefetch; it is what made raw Kafka's produce -> consumer latency lower than the alert worker's.
      this.startFetch();
      if (records.length > 0) return records;
      const left = deadline - Date.now();
      if (left <= 0) return [];
      await this.sleep(left, signal);
    }
  }

  async commit(positions: readonly (StreamRecord | CommitPosition)[]): Promise<void> {
    this.ensureOpen();
    const wanted = new Map<number, bigint>();
    const notOwned = new Set<number>();
    for (const pos of positions) {
      if (!this.owned.has(pos.partition)) { notOwned.add(pos.partition); continue; }
      const next = BigInt(pos.offset) + 1n;
      if ((wanted.get(pos.partition) ?? -1n) < next) wanted.set(pos.partition, next);
    }
    if (notOwned.size > 0) throw new StreamNotOwnerError(this.topic, this.group, [...notOwned].sort((a, b) => a - b));
    const generation = this.generation;
    const ok = generation !== undefined && await commitFenced(this.client, this.commits, this.meta.kafka, generation, wanted, this.ctx.retryForMs, () => this.closed);
    if (!ok) throw new StreamNotOwnerError(this.topic, this.group, [...wanted.keys()].sort((a, b) => a - b));
  }

  async seek(partition: number, position: StartPosition): Promise<void> {
    this.ensureOpen();
    checkPosition(position);
    await this.ensurePositions();
    if (!this.owned.has(partition)) throw new StreamNotOwnerError(this.topic, this.group, [partition]);
    const epoch = this.epoch;
    const at = (await resolvePositions(this.client, this.meta.kafka, [partition], position)).get(partition);
    const o = this.owned.get(partition);
    if (!o || epoch !== this.epoch || at === undefined) throw new StreamNotOwnerError(this.topic, this.group, [partition]);
    o.position = at;
    o.buffer = [];
    this.epoch++;
  }

  assignment(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    this.owned = new Map();
    try {
      // Leaves the group (LeaveGroup): the coordinator rebalances at once instead of waiting for the session to expire.
      await call((cb) => this.client.close(true, cb));
      if (this.transient && !this.ctx.closed()) await this.ctx.onTransientLeave(this.groupId);
    } catch (e) {
      this.ctx.logger.warn({ err: errorText(e), group: this.groupId }, 'stream consumer: leaving the group failed; the session timeout will');
    }
    await call((cb) => this.commits.close(cb)).catch((e: unknown) => this.ctx.logger.debug({ err: errorText(e) }, 'stream consumer: closing the commit connections failed'));
    this.ctx.onClose(this);
  }

  private ensureOpen(): void {
    if (this.closed || this.ctx.closed()) throw new StreamClosedError();
  }

  private async join(): Promise<void> {
    this.rejoin = false;
    try {
      await call((cb) => this.client.joinGroup({}, cb));
    } catch (e) {
      this.rejoin = true;
      if (kafkaErrorIs(e, 'INVALID_SESSION_TIMEOUT')) {
        throw new RangeError(`sessionTimeoutMs is outside the broker's group.min.session.timeout.ms..group.max.session.timeout.ms: ${errorText(e)}`);
      }
      throw e;
    }
  }

  private onJoin(p: ConsumerGroupJoinPayload): void {
    const mine = (p.assignments ?? []).filter((a) => a.topic === this.meta.kafka).flatMap((a) => a.partitions);
    this.assign(p.generationId === undefined ? undefined : { generationId: p.generationId, memberId: p.memberId }, mine);
  }

  /** A new generation: positions are read again from the committed offsets (see the module comment). */
  private assign(generation: Generation | undefined, partitions: number[]): void {
    this.generation = generation;
    this.owned = new Map(partitions.map((p) => [p, { position: undefined, buffer: [] }]));
    this.epoch++;
    this.wake();
  }

  /** Positions of newly owned partitions: the committed offset, else the start position, which is committed at once. */
  private async ensurePositions(): Promise<void> {
    while (!this.closed && [...this.owned.values()].some((o) => o.position === undefined)) {
      this.positioning ??= this.loadPositions().finally(() => { this.positioning = undefined; });
      await this.positioning;
    }
  }

  private async loadPositions(): Promise<void> {
    const epoch = this.epoch;
    const generation = this.generation;
    const missing = [...this.owned].filter(([, o]) => o.position === undefined).map(([p]) => p);
    const committed = await call<Map<string, bigint[]>>((cb) => this.client.listCommittedOffsets({ topics: [{ topic: this.meta.kafka, partitions: missing }] }, cb));
    const fresh = missing.filter((p) => (committed.get(this.meta.kafka)?.[p] ?? -1n) < 0n);
    const starts = await resolvePositions(this.client, this.meta.kafka, fresh, this.start);
    if (epoch !== this.epoch) return;
    // Pinning the start: a 'latest' group that rebalances before its first commit must not skip what came meanwhile.
    if (fresh.length > 0 && generation) {
      await commitFenced(this.client, this.commits, this.meta.kafka, generation, new Map(fresh.map((p) => [p, starts.get(p)!])), this.ctx.retryForMs, () => this.closed)
        .catch((e: unknown) => this.ctx.logger.debug({ err: errorText(e) }, 'stream consumer: pinning the start position failed'));
    }
    if (epoch !== this.epoch) return;
    for (const p of missing) {
      const o = this.owned.get(p);
      if (o) o.position = starts.get(p) ?? committed.get(this.meta.kafka)?.[p] ?? 0n;
    }
  }

  /**
   * Starts a Fetch (a long poll of MAX_FETCH_WAIT_MS) for each leader broker with none in flight, of the owned partitions it
   * leads whose buffer is below BUFFER_HIGH_WATER; when one lands it wakes the pollers and starts the next. One fetch
   * per leader, not one for all of them: a fetch that waited for every leader's answer held the records of a busy
   * partition until the idle leaders' long polls ran out. A partition with records buffered is fetched again at once
   * (from after them), not only once poll() has emptied it: otherwise the leader's next fetch went out without it
   * while its records were being processed, and a record appended to it then waited for that fetch's long poll to
   * run out (up to MAX_FETCH_WAIT_MS: the alert latency's p99 on Kafka was 40-500 ms for that alone).
   */
  private startFetch(): void {
    if (this.planning || this.closed) return;
    const epoch = this.epoch;
    const wanted = new Map<number, bigint>();
    for (const [p, o] of this.owned) if (o.position !== undefined && o.buffer.length < BUFFER_HIGH_WATER && !this.inFetch.has(p)) wanted.set(p, o.position);
    if (wanted.size === 0) return;
    this.planning = (async () => {
      try {
        const byLeader = await partitionsByLeader(this.client, this.meta.kafka, [...wanted.keys()]);
        if (epoch !== this.epoch || this.closed) return;
        for (const [leader, partitions] of byLeader) {
          // The client keeps one incremental fetch session per broker (log.ts): never two fetches on one broker.
          if (this.leadersFetching.has(leader)) continue;
          this.leadersFetching.add(leader);
          for (const p of partitions) this.inFetch.add(p);
          void this.fetchFrom(new Map(partitions.map((p) => [p, wanted.get(p)!])), epoch).finally(() => {
            this.leadersFetching.delete(leader);
            for (const p of partitions) this.inFetch.delete(p);
            this.wake();
            this.startFetch();
          });
        }
      } catch (e) {
        if (!this.closed) this.ctx.logger.debug({ err: errorText(e), group: this.groupId }, 'stream consumer: metadata for a fetch failed; retrying');
        await new Promise((r) => setTimeout(r, 200));
      } finally {
        this.planning = undefined;
      }
    })();
  }

  private async fetchFrom(wanted: Map<number, bigint>, epoch: number): Promise<void> {
    try {
      const got = await fetchPartitions(this.client, this.meta.kafka, wanted, { maxWaitMs: MAX_FETCH_WAIT_MS });
      if (epoch !== this.epoch || this.closed) return;
      const reset: number[] = [];
      for (const [p, f] of got) {
        const o = this.owned.get(p);
        if (!o) continue;
        if (f.outOfRange) { reset.push(p); continue; }
        for (const r of f.records) o.buffer.push({ ...r.record, topic: this.topic });
        o.position = f.next;
      }
      if (reset.length > 0) await this.resetOutOfRange(reset, epoch);
    } catch (e) {
      if (this.closed) return;
      this.ctx.logger.debug({ err: errorText(e), group: this.groupId }, 'stream consumer: fetch failed; retrying');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Like auto.offset.reset: before the first kept record (retention) -> the first kept one; past the end -> the end. */
  private async resetOutOfRange(partitions: number[], epoch: number): Promise<void> {
    const [earliest, latest] = await Promise.all([listOffsets(this.client, this.meta.kafka, partitions, 'earliest'), listOffsets(this.client, this.meta.kafka, partitions, 'latest')]);
    if (epoch !== this.epoch) return;
    for (const p of partitions) {
      const o = this.owned.get(p);
      if (!o || o.position === undefined) continue;
      o.position = o.position < (earliest.get(p) ?? 0n) ? earliest.get(p)! : latest.get(p) ?? o.position;
    }
  }

  private take(max: number): StreamRecord[] {
    const ready = [...this.owned].filter(([, o]) => o.buffer.length > 0).map(([p]) => p);
    return fairShare(ready, this.rotation++, max, (p, n) => {
      const o = this.owned.get(p)!;
      const records = o.buffer.splice(0, n);
      return { records, more: o.buffer.length > 0 };
    });
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
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
