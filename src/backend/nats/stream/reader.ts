/**
 * Reads one owned partition for one ownership epoch: a durable pull consumer filtered on the partition's subjects,
 * consumed with `consume({ max_messages: 1000, callback })` into a local buffer that `poll` drains.
 *
 * Acks: AckPolicy.All, sent when the group commits (one ack covers every record up to the committed one), so the
 * consumer's ack floor follows the committed offset and its `num_pending + num_ack_pending` is the group's lag.
 * The committed offset itself lives in KV (fenced); the ack only keeps the consumer's state in step.
 *
 * Flow control: the server stops delivering at `max_ack_pending` uncommitted records; the buffer additionally pauses
 * consumption above HIGH_WATER records (stopping `consume()` drops what was in flight, so resuming first checks
 * whether the consumer delivered more than we got, and if so re-creates it at the next record wanted).
 *
 * Lost deliveries: a gap in the consumer's delivery sequence (the client's server died with messages in flight), or
 * an idle consumer that delivered more than we got or holds records without delivering them (its pull requests
 * died with its leader), re-creates the consumer at the next record wanted (verify(), on the member's heartbeat).
 */
import { AckPolicy, ReplayPolicy, type ConsumerConfig, type ConsumerInfo, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from '../../../util/log.ts';
import type { StreamRecord } from '../../../stream/types.ts';
import { startConfig } from './positions.ts';
import { msgRecords, seqOf } from './packing.ts';
import { API_CODE, apiCode, errorText, isTransient } from './retry.ts';

const PULL_BATCH = 1000;
/**
 * Packed topics: messages of up to 4,096 records (900 KB), so a pull takes fewer of them, and the buffer's limits
 * are higher (a pause costs a consumer info and possibly a re-create: it must stay rare at high rates). 16 messages
 * a pull was measured slower than 64 (one R3 run, 8 calls in flight: 16.5-19.1k vs 26.7k records/s per group, at
 * load 7-9; noisy). A pull of 64 full messages is ~57 MB: messages that large come only from 4,096 queued records
 * of one partition. Bounding pulls by bytes as well (`max_bytes`) delivered nothing in a first try (not pursued).
 */
const PACKED_PULL_BATCH = 64;
/**
 * Pull requests live on the consumer's leader: after a failover the client only notices that its pulls are gone
 * through missed idle heartbeats (half of this). 10 s instead of the default 30 s bounds that stall.
 */
const PULL_EXPIRES_MS = 10_000;
/** A consumer idle for this long is checked (verify) for lost deliveries and dead pull requests. */
const MIN_IDLE_MS = 2000;
const HIGH_WATER = 10_000;
const LOW_WATER = 2_500;
const PACKED_HIGH_WATER = 50_000;
const PACKED_LOW_WATER = 12_500;

export interface ReaderContext {
  js: JetStreamClient;
  jsm: JetStreamManager;
  stream: string;
  topic: string;
  /** Packed topic (packing.ts): offsets are seq * PACK + index, several records per message. */
  packed: boolean;
  maxAckPending: number;
  ackWaitMs: number;
  inactiveMs: number;
  logger: Logger;
  /** Something arrived (wakes waiting polls). */
  wake: () => void;
  closed: () => boolean;
}

interface OpenHow {
  /** Consumer of the previous epoch, to delete. */
  previous?: string | undefined;
  /** Delete this reader's consumer first (it exists with another start). */
  recreate: boolean;
  reset?: boolean;
}

interface Buffered {
  record: StreamRecord;
  msg: JsMsg;
  /** Generation it arrived in: only the current consumer's messages may be acked. */
  gen: number;
}

export class PartitionReader {
  private buffer: Buffered[] = [];
  private head = 0;
  /** Records handed out and not yet acked, oldest first. */
  private unacked: Buffered[] = [];
  /** Offset of the next record wanted: anything below (redeliveries, a clamped start, the part of a message before a commit) is dropped. */
  private pos: number;
  private messages: ConsumerMessages | undefined;
  private info: ConsumerInfo | undefined;
  /** Consumer sequence of the last delivery seen: deliveries are numbered 1, 2, 3... by the consumer. */
  private lastDseq = 0;
  /** When a delivery last arrived or the consumer was (re)created: verify() only questions a consumer idle since. */
  private lastActiveAt = Date.now();
  /** Bumped by every (re)open and by stop: callbacks of an older generation are ignored. */
  private gen = 0;
  /** Bumped by every open started: a retry loop stops when another open superseded it. */
  private openToken = 0;
  private paused = false;
  private resuming = false;
  private stopped = false;
  private opening: Promise<void> = Promise.resolve();
  /** Opens in progress (verify leaves the consumer alone meanwhile: re-creating takes seconds during a failover). */
  private openingCount = 0;

  constructor(
    private readonly ctx: ReaderContext,
    readonly partition: number,
    private readonly filter: string,
    readonly durable: string,
    start: number,
    /** Consumer of the previous epoch, deleted when this one starts. */
    private readonly previous: string | undefined,
  ) {
    this.pos = start;
  }

  /** Starts in the background: records arrive once the consumer exists. */
  start(): void {
    this.startOpen(this.pos, { previous: this.previous, recreate: false });
  }

  /** Replays from `start` (seek): resolves once the consumer has been re-created there. */
  async seek(start: number): Promise<void> {
    // Supersede an open still retrying (it stops at its next attempt), then replace it.
    this.openToken++;
    await this.opening.catch(() => undefined);
    this.openToken++;
    this.openingCount++;
    this.opening = this.open(start, { recreate: true, reset: true }).finally(() => { this.openingCount--; });
    await this.opening;
  }

  buffered(): number {
    return this.buffer.length - this.head;
  }

  /** Up to `max` buffered records, dropping those older than `minTimestamp` (already deleted by max_age). */
  take(max: number, minTimestamp: number): StreamRecord[] {
    const out: StreamRecord[] = [];
    while (out.length < max && this.head < this.buffer.length) {
      const b = this.buffer[this.head++]!;
      this.unacked.push(b);
      if (b.record.timestamp >= minTimestamp) out.push(b.record);
    }
    if (this.head > 4096 && this.head * 2 > this.buffer.length) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    if (this.paused && !this.resuming && this.buffered() <= (this.ctx.packed ? PACKED_LOW_WATER : LOW_WATER)) void this.resume();
    return out;
  }

  /**
   * Acks (AckAll) the newest handed-out record at or below the committed offset. A record that came through an earlier
   * incarnation of the consumer (before a re-create under the same name) is not acked: its delivery sequence would
   * set the new consumer's ack floor beyond its own deliveries, and the server would then ignore its acks.
   */
  ackUpTo(offset: number): void {
    let last = -1;
    for (let i = 0; i < this.unacked.length && this.unacked[i]!.record.offset <= offset; i++) last = i;
    if (last < 0) return;
    const b = this.unacked[last]!;
    this.unacked = this.unacked.slice(last + 1);
    if (b.gen !== this.gen) return;
    try {
      b.msg.ack();
    } catch (e) {
      // Connection closing: the ack floor lags the KV commit, which stays authoritative.
      this.ctx.logger.debug({ err: e }, 'stream reader: ack failed');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.gen++;
    this.buffer = [];
    this.head = 0;
    this.unacked = [];
    await this.closeMessages();
  }

  private startOpen(start: number, how: OpenHow): void {
    this.openingCount++;
    this.opening = this.openWithRetry(start, how).finally(() => { this.openingCount--; });
  }

  /** Retries until it worked, the reader stopped, or a later open (seek, re-create) superseded this one. */
  private async openWithRetry(start: number, how: OpenHow): Promise<void> {
    const token = ++this.openToken;
    const current = (): boolean => token === this.openToken && !this.stopped && !this.ctx.closed();
    for (let attempt = 0; current(); attempt++) {
      try {
        await this.open(start, how);
        return;
      } catch (e) {
        if (!current()) return;
        const level = isTransient(e) ? 'info' : 'warn';
        this.ctx.logger[level]({ err: errorText(e), durable: this.durable }, 'stream reader: creating the consumer failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)).unref());
      }
    }
  }

  /**
   * (Re)creates the durable consumer at `start` and consumes it. `reset` (seek) forgets the buffer; otherwise the
   * buffer is kept and `start` is the record after it.
   */
  private async open(start: number, how: OpenHow): Promise<void> {
    const gen = ++this.gen;
    await this.closeMessages();
    if (how.reset) {
      this.buffer = [];
      this.head = 0;
      this.unacked = [];
    }
    this.pos = start;
    this.paused = false;
    if (how.previous) await this.deleteConsumer(how.previous);
    if (how.recreate) await this.deleteConsumer(this.durable);
    const cfg: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      filter_subject: this.filter,
      ack_policy: AckPolicy.All,
      ...startConfig(seqOf(this.ctx, start)),
      ack_wait: nanos(this.ctx.ackWaitMs),
      max_ack_pending: this.ctx.maxAckPending,
      inactive_threshold: nanos(this.ctx.inactiveMs),
      replay_policy: ReplayPolicy.Instant,
    };
    let info: ConsumerInfo;
    try {
      info = await this.ctx.jsm.consumers.add(this.ctx.stream, cfg);
    } catch (e) {
      // Left over from an attempt of this same epoch that failed half-way: start it afresh.
      const code = apiCode(e);
      if (code !== API_CODE.consumerExists && code !== API_CODE.consumerNameInUse) throw e;
      await this.deleteConsumer(this.durable);
      info = await this.ctx.jsm.consumers.add(this.ctx.stream, cfg);
    }
    if (gen !== this.gen || this.stopped) return;
    this.info = info;
    this.lastDseq = info.delivered.consumer_seq;
    this.lastActiveAt = Date.now();
    await this.consume(gen);
  }

  private async consume(gen: number): Promise<void> {
    const consumer = this.ctx.js.consumers.getConsumerFromInfo(this.info!);
    const messages = await consumer.consume({
      max_messages: this.ctx.packed ? PACKED_PULL_BATCH : PULL_BATCH,
      expires: PULL_EXPIRES_MS,
      abort_on_missing_resource: true,
      callback: (m) => this.onMessage(gen, m),
    });
    if (gen !== this.gen || this.stopped) {
      messages.stop();
      return;
    }
    this.messages = messages;
    void messages.closed().then((err) => {
      // Ended without stop(): the consumer was deleted (inactive, by hand) or the server refused it: re-create it here.
      if (gen !== this.gen || this.stopped || this.ctx.closed() || this.paused) return;
      this.ctx.logger.info({ err: err ? errorText(err) : undefined, durable: this.durable }, 'stream reader: consumption ended; re-creating the consumer');
      this.startOpen(this.pos, { recreate: true });
    });
  }

  private onMessage(gen: number, m: JsMsg): void {
    if (gen !== this.gen) return;
    this.lastActiveAt = Date.now();
    const dseq = m.info.deliverySequence;
    if (dseq > this.lastDseq + 1) {
      // Deliveries lost on the way (the client's server died with them in flight, or consume() was stopped): the
      // consumer counts them delivered and would skip them until ack_wait. Re-create it at the next record wanted.
      this.ctx.logger.info({ durable: this.durable, expected: this.lastDseq + 1, got: dseq }, 'stream reader: deliveries lost in flight; re-creating the consumer');
      this.recreate();
      return;
    }
    // Equal or lower: a new consumer leader resumed from older replicated state; what we have is dropped below.
    this.lastDseq = dseq;
    const records: StreamRecord[] = [];
    this.pos = msgRecords({ packed: this.ctx.packed, name: this.ctx.topic }, m, this.pos, records);
    if (records.length === 0) return;
    for (const record of records) this.buffer.push({ record, msg: m, gen });
    if (!this.paused && this.buffered() >= (this.ctx.packed ? PACKED_HIGH_WATER : HIGH_WATER)) {
      this.paused = true;
      this.messages?.stop();
      this.messages = undefined;
    }
    this.ctx.wake();
  }

  /**
   * Called periodically while the partition is owned: when nothing arrived for MIN_IDLE_MS, checks that the consumer
   * has not delivered records we never got (lost in flight at the tail of the partition, where no later delivery
   * reveals the gap), that it is not sitting on records (dead pull requests), and that consumption is running.
   */
  async verify(): Promise<void> {
    if (this.stopped || this.paused || this.resuming || this.openingCount > 0) return;
    const since = this.lastActiveAt;
    if (Date.now() - since < MIN_IDLE_MS) return;
    const gen = this.gen;
    try {
      const info = await this.ctx.jsm.consumers.info(this.ctx.stream, this.durable);
      if (gen !== this.gen || this.stopped || this.lastActiveAt !== since) return;
      // More deliveries than we saw: lost in flight (delivered.stream_seq would not do: a filtered consumer moves it
      // past messages of other partitions). Records waiting while we wait too, with room under max_ack_pending: our
      // pull requests died with the consumer's old leader (failover).
      const lost = info.delivered.consumer_seq > this.lastDseq;
      const stalled = info.num_pending > 0 && info.num_ack_pending < this.ctx.maxAckPending;
      if (lost || stalled || !this.messages) {
        this.ctx.logger.info({ durable: this.durable, delivered: info.delivered.consumer_seq, seen: this.lastDseq, pending: info.num_pending }, 'stream reader: consumer stalled or skipped records; re-creating it');
        this.recreate();
      }
    } catch (e) {
      if (gen !== this.gen || this.stopped) return;
      if (apiCode(e) === API_CODE.consumerNotFound) this.recreate();
      else this.ctx.logger.debug({ err: errorText(e), durable: this.durable }, 'stream reader: verify failed');
    }
  }

  /** Re-creates the consumer at the next record wanted, keeping the buffer. */
  private recreate(): void {
    this.gen++;
    const m = this.messages;
    this.messages = undefined;
    m?.stop();
    this.startOpen(this.pos, { recreate: true });
  }

  private async resume(): Promise<void> {
    this.resuming = true;
    const gen = this.gen;
    try {
      const info = await this.ctx.jsm.consumers.info(this.ctx.stream, this.durable);
      if (gen !== this.gen || this.stopped) return;
      if (info.delivered.consumer_seq > this.lastDseq) {
        // Records were in flight when consumption stopped: the server counts them delivered, we never got them.
        this.startOpen(this.pos, { recreate: true });
        return;
      }
      this.paused = false;
      this.info = info;
      this.lastDseq = info.delivered.consumer_seq;
      await this.consume(gen);
    } catch (e) {
      if (gen !== this.gen || this.stopped) return;
      this.ctx.logger.info({ err: errorText(e), durable: this.durable }, 'stream reader: resuming failed; re-creating the consumer');
      this.startOpen(this.pos, { recreate: true });
    } finally {
      this.resuming = false;
    }
  }

  private async closeMessages(): Promise<void> {
    const m = this.messages;
    this.messages = undefined;
    if (m) await m.close().catch(() => undefined);
  }

  private async deleteConsumer(name: string): Promise<void> {
    try {
      await this.ctx.jsm.consumers.delete(this.ctx.stream, name);
    } catch (e) {
      if (apiCode(e) !== API_CODE.consumerNotFound) throw e;
    }
  }
}
