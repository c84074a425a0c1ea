/**
 * Publishing to packed topics (packing.ts): one JetStream message per (publish round, partition).
 *
 * Rounds: each partition has a queue and at most one message in flight. A publish() call splits its records by
 * partition and queues them; a partition whose queue was idle sends at once, otherwise its next message takes
 * everything queued meanwhile (up to PACK records or MAX_MESSAGE_BYTES), from any number of calls. So one call's
 * records of one partition are one message when nothing else is queued, and concurrent calls share messages, i.e.
 * fsyncs, the scarce resource with `sync_interval: always`. A partition's records keep their publish order.
 *
 * De-duplication by record id (topics with a duplicate window), Kafka's design (src/backend/kafka/dedup.ts): ids
 * travel in the records (the codec), each process keeps per partition an id window (src/stream/id-window.ts) built
 * from the log and caught up before it appends. Unlike Kafka, JetStream has a conditional append: every message is
 * published with the expected last sequence of its partition's subject (Nats-Expected-Last-Subject-Sequence). If
 * another process appended meanwhile, the server refuses ("wrong last sequence", 10071); the round then reads what was
 * appended since (indexing its ids), re-checks its records and tries again. Two processes appending the same id to a
 * partition at the same moment therefore cannot both append it. The same holds for topics without ids: the
 * expectation is what keeps each message's running count (Dw-End) exact.
 *
 * Retries: a message whose PubAck was lost (timeout, leader failover) is sent again with the same Nats-Msg-Id and
 * the same expectation. The id is derived from this publisher's random nonce, the partition and the expected last
 * sequence: unique per attempted position, and the same for every attempt of one message, so JetStream's duplicate
 * window answers `duplicate` (with the stored sequence) if the first attempt was stored (nats-server 2.10 checks the
 * message id before the expectation). Should a server check the expectation first, the catch-up finds the stored
 * attempt by its Nats-Msg-Id and takes it as this round's message. A content-only id would merge two identical
 * publishes of records without ids, which are two appends.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AckPolicy, DeliverPolicy, type JetStreamClient, type JetStreamManager, type MsgRequest, type StoredMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, nanos, type MsgHdrs } from '@nats-io/transport-node';
import { StreamClosedError } from '../../../errors/index.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { encodeBatch, forEachId, type BatchEntry } from '../../../stream/batch-codec.ts';
import { IdWindow } from '../../../stream/id-window.ts';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../../../stream/types.ts';
import { packedSubject } from './names.ts';
import { checkOutgoing } from './records.ts';
import { asBuffer, END_HEADER, endOf, offsetOf, PACK, packedCount, runningEnd } from './packing.ts';
import { API_CODE, apiCode, isTransient, withRetry } from './retry.ts';
import type { TopicMeta } from './topics.ts';

/** Under the shipped max_payload (1 MB, deploy/nats/) with room for headers. */
const MAX_MESSAGE_BYTES = 900_000;
/** Per record in the codec: its fixed-size entry. */
const ENTRY_BYTES = 16;

export interface PackedPublisherOptions {
  tenant: string;
  /** Replicas of the streams (the window scan's consumer gets as many). */
  replicas: number;
  ackTimeoutMs: number;
  retryForMs: number;
  closed: () => boolean;
}

/** One publish() call: its acks fill in as its partitions' messages are acknowledged. */
class Call {
  readonly acks: PublishAck[];
  private left: number;
  private settled = false;

  constructor(n: number, private readonly resolve: (acks: PublishAck[]) => void, private readonly reject: (e: unknown) => void) {
    this.acks = new Array<PublishAck>(n);
    this.left = n;
  }

  /** Idempotent per record: a retried round may settle a record it already settled. */
  ack(i: number, a: PublishAck): void {
    if (this.settled || this.acks[i] !== undefined) return;
    this.acks[i] = a;
    if (--this.left === 0) {
      this.settled = true;
      this.resolve(this.acks);
    }
  }

  fail(e: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(e);
  }
}

interface Item {
  call: Call;
  /** Index of the record in its call. */
  i: number;
  record: OutgoingRecord;
  bytes: number;
}

/** What this process knows of one partition's log: its last message and (dedup topics) the ids of the window. */
interface PartitionState {
  partition: number;
  subject: string;
  queue: Item[];
  running: boolean;
  known: boolean;
  lastSeq: number;
  /** Running record count through lastSeq (Dw-End). */
  end: number;
  ids: IdWindow | undefined;
}

export class PackedPublisher {
  private readonly partitions = new Map<string, PartitionState>();
  /** Makes this publisher's message ids its own (see the header). */
  private readonly nonce = randomBytes(6).toString('base64url');

  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly opts: PackedPublisherOptions,
  ) {}

  publish(meta: TopicMeta, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    const byPartition = new Map<number, Item[]>();
    const prepared: { p: number; item: Omit<Item, 'call'> }[] = [];
    for (const [i, r] of records.entries()) {
      checkOutgoing(r);
      if (r.headers !== undefined) {
        for (const [k, v] of Object.entries(r.headers)) if (typeof v !== 'string') throw new TypeError(`header "${k}" must be a string`);
      }
      const bytes = ENTRY_BYTES + r.value.byteLength + r.key.length * 3 + (r.id?.length ?? 0) * 3 + (r.headers ? JSON.stringify(r.headers).length * 3 : 0);
      prepared.push({ p: partitionOf(r.key, meta.partitions), item: { i, record: r, bytes } });
    }
    return new Promise<PublishAck[]>((resolve, reject) => {
      const call = new Call(records.length, resolve, reject);
      for (const { p, item } of prepared) {
        let list = byPartition.get(p);
        if (!list) byPartition.set(p, (list = []));
        list.push({ ...item, call });
      }
      for (const [p, items] of byPartition) {
        const st = this.state(meta, p);
        st.queue.push(...items);
        if (!st.running) void this.drain(meta, st);
      }
    });
  }

  private state(meta: TopicMeta, partition: number): PartitionState {
    const key = `${meta.stream}\u0000${partition}`;
    let st = this.partitions.get(key);
    if (!st) {
      st = { partition, subject: packedSubject(meta.name, this.opts.tenant, partition), queue: [], running: false, known: false, lastSeq: 0, end: 0, ids: undefined };
      this.partitions.set(key, st);
    }
    return st;
  }

  private async drain(meta: TopicMeta, st: PartitionState): Promise<void> {
    st.running = true;
    try {
      while (st.queue.length > 0) {
        let n = 0;
        let bytes = 0;
        while (n < st.queue.length && n < PACK && (n === 0 || bytes + st.queue[n]!.bytes <= MAX_MESSAGE_BYTES)) bytes += st.queue[n++]!.bytes;
        const round = st.queue.splice(0, n);
        try {
          await this.append(meta, st, round);
        } catch (e) {
          // What this process knows of the partition may be stale after a failure: read it again next time.
          st.known = false;
          for (const it of round) it.call.fail(e);
        }
      }
    } finally {
      st.running = false;
    }
  }

  /** Appends one round's records to the partition as one message (or none, when all are duplicates). */
  private async append(meta: TopicMeta, st: PartitionState, round: Item[]): Promise<void> {
    const deadline = Date.now() + this.opts.retryForMs;
    // Reads of the log fail like publishes during a failover (timeouts while the stream has no leader): same budget.
    const retrying = <T>(what: string, fn: () => Promise<T>): Promise<T> => withRetry(what, { forMs: Math.max(0, deadline - Date.now()), closed: this.opts.closed }, fn);
    if (!st.known) await retrying(`reading ${st.subject}`, () => this.load(meta, st));
    else if (st.ids && round.some((it) => it.record.id !== undefined && st.ids!.get(it.record.id, Date.now()))) {
      // Duplicates are acknowledged from the window without an append, so no expectation would reveal a log that
      // went back (stream deleted and created again, retention emptied the partition): check its last message.
      const last = await retrying(`reading ${st.subject}`, () => this.get(meta, { last_by_subj: st.subject }));
      if ((last?.seq ?? 0) < st.lastSeq) await retrying(`reading ${st.subject}`, () => this.load(meta, st));
    }
    /** Attempts sent, by Nats-Msg-Id: the records each message held, in order (to recognise one stored meanwhile). */
    const attempts = new Map<string, Item[]>();
    let items = round;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      if (this.opts.closed()) throw new StreamClosedError();
      const plan = this.plan(meta, st, items);
      // Duplicates of records already in the log were acked: later attempts only carry the rest.
      items = plan.rest;
      if (plan.send.length === 0) return;
      const msgId = `${this.nonce}.${st.partition}.${st.lastSeq}`;
      attempts.set(msgId, plan.send);
      const h = natsHeaders();
      h.set(END_HEADER, String(st.end + plan.send.length));
      try {
        const pa = await this.js.publish(st.subject, encodeBatch(plan.send.map(toEntry)), {
          msgID: msgId,
          expect: { lastSubjectSequence: st.lastSeq },
          headers: h,
          timeout: this.opts.ackTimeoutMs,
        });
        // `duplicate` can only be an earlier attempt of this message: the id is this publisher's, for this position.
        this.appended(meta, st, pa.seq, plan.send, st.end + plan.send.length, Date.now());
        plan.resolveSameAs();
        return;
      } catch (e) {
        if (this.opts.closed()) throw new StreamClosedError();
        const code = apiCode(e);
        if (code === API_CODE.wrongLastSequence || code === API_CODE.wrongLastSequenceUnknown) {
          // Another writer appended first: index what it appended, then re-check this round against it.
          const before = st.lastSeq;
          const mine = await retrying(`catching up with ${st.subject}`, () => this.catchUp(meta, st, attempts));
          if (st.lastSeq === before) {
            // Its last message went away: retention emptied the partition (whose last subject sequence is then 0 for
            // the server), or the stream was deleted and created again. Read the partition again: the expectation
            // becomes its real last sequence, and the id window forgets ids whose records are gone (a re-publish
            // of such an id is appended again, as in the embedded log).
            await retrying(`reading ${st.subject}`, () => this.load(meta, st));
          }
          if (Date.now() >= deadline) throw new StreamUnavailableError(`publish to ${st.subject}: appends of other writers kept winning`, e);
          if (mine) {
            for (const [k, it] of mine.items.entries()) it.call.ack(it.i, { partition: st.partition, offset: offsetOf(meta, mine.seq, k), duplicate: false });
            const sent = new Set(mine.items);
            items = items.filter((it) => !sent.has(it));
          }
          continue;
        }
        if (!isTransient(e)) throw e;
        lastError = e;
        if (Date.now() >= deadline) throw new StreamUnavailableError(`publish to ${st.subject}`, lastError);
        await sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  }

  /**
   * Splits a round into records to send and duplicates (acked now when their original is in the log; a repeat of an
   * id within the round is acked with the first one's offset once that is known).
   */
  private plan(meta: TopicMeta, st: PartitionState, items: Item[]): { send: Item[]; rest: Item[]; resolveSameAs: () => void } {
    if (!st.ids) return { send: items, rest: items, resolveSameAs: () => undefined };
    const now = Date.now();
    const send: Item[] = [];
    const firstInRound = new Map<string, Item>();
    const sameAs: [Item, Item][] = [];
    for (const it of items) {
      const id = it.record.id;
      if (id === undefined) { send.push(it); continue; }
      const seen = st.ids.get(id, now);
      if (seen) { it.call.ack(it.i, { partition: st.partition, offset: seen.offset, duplicate: true }); continue; }
      const first = firstInRound.get(id);
      if (first) { sameAs.push([it, first]); continue; }
      firstInRound.set(id, it);
      send.push(it);
    }
    return {
      send,
      rest: [...send, ...sameAs.map(([it]) => it)],
      resolveSameAs: () => {
        for (const [it, first] of sameAs) {
          const seen = st.ids!.get(first.record.id!, Date.now());
          if (seen) it.call.ack(it.i, { partition: st.partition, offset: seen.offset, duplicate: true });
        }
      },
    };
  }

  /** Records an appended message of this process in the partition state. */
  private appended(meta: TopicMeta, st: PartitionState, seq: number, sent: Item[], end: number, at: number): void {
    for (const [k, it] of sent.entries()) {
      const offset = offsetOf(meta, seq, k);
      if (st.ids && it.record.id !== undefined) st.ids.add(it.record.id, { offset, at });
      it.call.ack(it.i, { partition: st.partition, offset, duplicate: false });
    }
    st.lastSeq = Math.max(st.lastSeq, seq);
    st.end = end;
  }

  /**
   * First use of a partition (or after a failure): its last message, and on dedup topics the ids of the window, read
   * from the log (messages appended since `now - window`).
   */
  private async load(meta: TopicMeta, st: PartitionState): Promise<void> {
    st.ids = undefined;
    const last = await this.get(meta, { last_by_subj: st.subject });
    st.lastSeq = last?.seq ?? 0;
    st.end = last ? runningEnd(last) : 0;
    if (meta.dedupMs > 0) {
      st.ids = new IdWindow(meta.dedupMs);
      await this.indexWindow(meta, st, Date.now() - meta.dedupMs);
      await this.catchUp(meta, st, new Map());
    }
    st.known = true;
  }

  /**
   * Reads the partition's messages after lastSeq, indexing their ids; returns the first that is one of `attempts`
   * (an attempt of the running round stored although its answer was lost), with the records it held.
   */
  private async catchUp(meta: TopicMeta, st: PartitionState, attempts: Map<string, Item[]>, from = st.lastSeq + 1): Promise<{ seq: number; items: Item[] } | undefined> {
    let mine: { seq: number; items: Item[] } | undefined;
    for (let next = from; ; ) {
      const m = await this.get(meta, { seq: next, next_by_subj: st.subject });
      if (!m) return mine;
      next = m.seq + 1;
      const msgId = this.index(meta, st, m.seq, m.data, m.time.getTime(), m.header);
      const items = msgId ? attempts.get(msgId) : undefined;
      if (items && !mine) mine = { seq: m.seq, items };
    }
  }

  /** Takes one message of the partition into the state (its ids, the last sequence and count); returns its Nats-Msg-Id. */
  private index(meta: TopicMeta, st: PartitionState, seq: number, payload: Uint8Array, ts: number, h: MsgHdrs | undefined): string | undefined {
    if (st.ids) {
      const data = asBuffer(payload);
      const base = offsetOf(meta, seq);
      forEachId({ base, last: base + packedCount(data) - 1, ts, data }, base, (offset, id) => st.ids!.add(id, { offset, at: ts }));
    }
    if (seq > st.lastSeq) {
      st.lastSeq = seq;
      st.end = endOf(h);
    }
    return h?.get('Nats-Msg-Id') || undefined;
  }

  /**
   * Indexes the partition's messages appended since `since` (epoch ms) through an ephemeral consumer, 256 messages a
   * fetch: a 10-minute window at high rates is thousands of messages per partition, which one direct get each
   * (catchUp) would read one round trip at a time. Its creation answer says how many match; what is appended after
   * is left to catchUp.
   */
  private async indexWindow(meta: TopicMeta, st: PartitionState, since: number): Promise<void> {
    const info = await this.jsm.consumers.add(meta.stream, {
      filter_subject: st.subject,
      ack_policy: AckPolicy.None,
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(since).toISOString(),
      mem_storage: true,
      // As read.ts: an R1 consumer of an R3 stream can be placed on a dead peer right after a failover.
      num_replicas: this.opts.replicas,
      inactive_threshold: nanos(30_000),
    });
    try {
      const consumer = this.js.consumers.getConsumerFromInfo(info);
      for (let left = info.num_pending; left > 0; ) {
        const batch = await consumer.fetch({ max_messages: Math.min(left, 256), expires: 2000 });
        let got = 0;
        for await (const m of batch) {
          got++;
          this.index(meta, st, m.seq, m.data, Number(m.timestampNanos / 1_000_000n), m.headers);
        }
        if (got === 0) break;
        left -= got;
      }
    } finally {
      this.jsm.consumers.delete(meta.stream, info.name).catch(() => { /* expires by itself (inactive_threshold) */ });
    }
  }


  /** One message by a direct-get style request on the stream leader (STREAM.MSG.GET); null when none matches. */
  private async get(meta: TopicMeta, q: { last_by_subj: string } | { seq: number; next_by_subj: string }): Promise<StoredMsg | null> {
    try {
      // The client types MSG.GET requests as seq or last_by_subj only; the server (>= 2.9) also takes next_by_subj.
      return await this.jsm.streams.getMessage(meta.stream, q as MsgRequest);
    } catch (e) {
      if (apiCode(e) === API_CODE.noMessageFound) return null;
      throw e;
    }
  }
}

function toEntry(it: Item): BatchEntry {
  const h = it.record.headers;
  return { key: it.record.key, id: it.record.id, headers: h && Object.keys(h).length > 0 ? JSON.stringify(h) : null, value: it.record.value };
}
