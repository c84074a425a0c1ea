/**
 * Publishing: Kafka's idempotent producer (acks=all, so an ack means the in-sync replicas have the records; the
 * producer id and sequence numbers make its own retries append once), lz4-compressed batches, the partition of each
 * record set explicitly to partitionOf(key) (every implementation's partitioning), and the de-duplication of dedup.ts.
 *
 * Batching: publish() calls of one topic queue up; one round per topic is in flight at a time and takes everything
 * queued meanwhile, one record batch per partition. This is Kafka's linger without a fixed delay: a lone publish goes
 * out at once, a burst shares requests. One round at a time per topic is also what makes the duplicate check and the
 * append of an id atomic within the process.
 *
 * A round is one send (one Produce request per leader broker) while the cluster is stable. The client retries a send at
 * the leader of its first record's partition, so a send spanning partitions whose leaders then moved apart would be
 * resent to a broker that no longer leads some of them, NOT_LEADER_OR_FOLLOWER for the whole retry budget (30 s without
 * ingestion after a broker was killed). Multi-partition sends therefore go through a producer with few retries, and
 * after a failure the rest of the round is sent one partition per send, each following its own leader (append()).
 * One send per partition for every round cost 8 Produce requests per round instead of 3 on the 3-node test cluster.
 */
import type { Producer, ProduceResult } from '@platformatic/kafka';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../../stream/types.ts';
import { call } from './client.ts';
import type { TopicMeta } from './catalog.ts';
import { PartitionIndex } from './dedup.ts';
import { listOffsets, readRange, type KafkaClient, type Serial } from './log.ts';
import { approxSize, asBuffer, toKafkaHeaders } from './records.ts';

/** Keeps each partition's record batch well under the broker's default max.message.bytes (1 MiB). */
const MAX_BATCH_BYTES = 900_000;
/** Records taken from the queue for one round. */
const MAX_ROUND_RECORDS = 20_000;

interface Job {
  records: readonly OutgoingRecord[];
  resolve: (acks: PublishAck[]) => void;
  reject: (e: unknown) => void;
}

interface TopicQueue {
  jobs: Job[];
  running: boolean;
  /** Per partition de-duplication index (topics with a duplicate window only). */
  indexes: Map<number, PartitionIndex>;
}

export interface PublisherContext {
  /** Sends of one partition, with the stream's retry budget. */
  producer: Producer;
  /** Sends spanning partitions, with few retries (see append()). */
  batchProducer: Producer;
  reader: KafkaClient;
  readerSerial: Serial;
  /** Retries transient failures of the reader for the stream's budget (the reader's own attempts are few). */
  retrying: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
}

export class Publisher {
  private readonly queues = new Map<string, TopicQueue>();

  constructor(private readonly ctx: PublisherContext) {}

  publish(meta: TopicMeta, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    for (const r of records) {
      if (typeof r.key !== 'string') throw new TypeError('record key must be a string');
      if (!(r.value instanceof Uint8Array)) throw new TypeError('record value must be a Uint8Array');
    }
    let q = this.queues.get(meta.kafka);
    if (!q) {
      q = { jobs: [], running: false, indexes: new Map() };
      this.queues.set(meta.kafka, q);
    }
    const queue = q;
    return new Promise<PublishAck[]>((resolve, reject) => {
      queue.jobs.push({ records, resolve, reject });
      if (!queue.running) void this.drain(meta, queue);
    });
  }

  private async drain(meta: TopicMeta, q: TopicQueue): Promise<void> {
    q.running = true;
    try {
      while (q.jobs.length > 0) {
        const round: Job[] = [];
        let n = 0;
        while (q.jobs.length > 0 && (round.length === 0 || n + q.jobs[0]!.records.length <= MAX_ROUND_RECORDS)) {
          const job = q.jobs.shift()!;
          round.push(job);
          n += job.records.length;
        }
        try {
          const acks = await this.sendRound(meta, q, round.flatMap((j) => j.records));
          let i = 0;
          for (const job of round) {
            job.resolve(acks.slice(i, i + job.records.length));
            i += job.records.length;
          }
        } catch (e) {
          for (const job of round) job.reject(e);
        }
        // One turn of the event loop before the next round: the callers just answered usually publish again at once
        // (an ingestion call's next batch), and their records then share the next round's requests instead of
        // waiting a whole round for theirs. A linger of one loop turn, not a timer: no latency when nobody comes.
        if (q.jobs.length > 0 || round.length > 0) await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      q.running = false;
    }
  }

  private async sendRound(meta: TopicMeta, q: TopicQueue, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    const acks: (PublishAck | undefined)[] = new Array(records.length);
    const partitions = records.map((r) => partitionOf(r.key, meta.partitions));
    const dedup = meta.duplicateWindowMs > 0;
    if (dedup) {
      const withIds = [...new Set(partitions.filter((_, i) => records[i]!.id !== undefined))];
      await this.catchUp(meta, q, withIds);
    }
    // Per record to send: its index; a later record of this round with the same id points at the first one.
    const toSend: number[] = [];
    const sameAs = new Map<number, number>();
    const firstInRound = new Map<string, number>();
    const now = Date.now();
    for (const [i, r] of records.entries()) {
      const p = partitions[i]!;
      if (dedup && r.id !== undefined) {
        const seen = q.indexes.get(p)?.get(r.id, now);
        if (seen) {
          acks[i] = { partition: p, offset: seen.offset, duplicate: true };
          continue;
        }
        const roundKey = `${p}\u0000${r.id}`;
        const first = firstInRound.get(roundKey);
        if (first !== undefined) {
          sameAs.set(i, first);
          continue;
        }
        firstInRound.set(roundKey, i);
      }
      toSend.push(i);
    }
    await this.append(meta, q, records, partitions, toSend, acks);
    for (const [i, first] of sameAs) acks[i] = { ...acks[first]!, duplicate: true };
    return acks as PublishAck[];
  }

  /**
   * Appends records[toSend] and fills in their acks. First as one send per level (the client makes it one Produce
   * request per leader broker); when a send fails, what it did append is taken from the log (duplicate index) and the
   * rest is sent again one partition per send, through the producer with the full retry budget. Topics without a
   * duplicate window are sent one partition per send from the start: without the index, a resend after a failed
   * multi-partition send could append a record twice.
   */
  private async append(meta: TopicMeta, q: TopicQueue, records: readonly OutgoingRecord[], partitions: readonly number[], toSend: readonly number[], acks: (PublishAck | undefined)[]): Promise<void> {
    const dedup = meta.duplicateWindowMs > 0;
    let pending = toSend;
    let split = !dedup || meta.partitions === 1;
    let attempt = 0;
    const once = async (): Promise<void> => {
      if (attempt++ > 0) {
        split = true;
        // The failed send may have appended some of its records: those are acknowledged from the log, not sent again.
        await this.catchUp(meta, q, [...new Set(pending.map((i) => partitions[i]!))]);
        const now = Date.now();
        pending = pending.filter((i) => {
          const id = records[i]!.id;
          const seen = id === undefined ? undefined : q.indexes.get(partitions[i]!)?.get(id, now);
          if (seen) acks[i] = { partition: partitions[i]!, offset: seen.offset, duplicate: false };
          return !seen;
        });
      }
      for (const level of levels(pending, partitions, records)) {
        const groups = split ? [...groupBy(level, (i) => partitions[i]!).values()] : [level];
        // Every send settled before the round ends, failed or not: the next round's duplicate check must see what
        // this one appended.
        const settled = await Promise.allSettled(groups.map((g) => this.send(meta, records, partitions, g, split)));
        const done = new Set<number>();
        for (const [k, r] of settled.entries()) {
          const offsets = r.status === 'fulfilled' ? r.value.offsets : (r.reason as { produced?: ProduceResult } | undefined)?.produced?.offsets;
          const base = new Map<number, bigint>();
          for (const o of offsets ?? []) if (o.topic === meta.kafka) base.set(o.partition, o.offset);
          if (r.status === 'fulfilled') {
            const missing = groups[k]!.find((i) => !base.has(partitions[i]!));
            if (missing !== undefined) throw new Error(`the broker acknowledged no offset for partition ${partitions[missing]} of ${meta.kafka}`);
          }
          this.acknowledge(meta, q, records, partitions, groups[k]!.filter((i) => base.has(partitions[i]!)), base, acks, done);
        }
        pending = pending.filter((i) => !done.has(i));
        const failed = settled.find((r) => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    };
    // Without a duplicate index nothing tells what a failed send appended: no resend (the producer's own retries, with
    // the stream's budget, are idempotent), the caller gets the error.
    if (dedup) await this.ctx.retrying(`publish to ${meta.kafka}`, once);
    else await once();
  }

  private send(meta: TopicMeta, records: readonly OutgoingRecord[], partitions: readonly number[], indexes: readonly number[], single: boolean): Promise<ProduceResult> {
    const producer = single ? this.ctx.producer : this.ctx.batchProducer;
    return call<ProduceResult>((cb) => producer.send({
      messages: indexes.map((i) => {
        const r = records[i]!;
        return { topic: meta.kafka, partition: partitions[i]!, key: Buffer.from(r.key, 'utf8'), value: asBuffer(r.value), headers: toKafkaHeaders(r) };
      }),
    }, cb));
  }

  /** Acks of appended records: one record batch per partition per send, so a partition's records have consecutive offsets from its base. */
  private acknowledge(meta: TopicMeta, q: TopicQueue, records: readonly OutgoingRecord[], partitions: readonly number[], appended: readonly number[], base: ReadonlyMap<number, bigint>, acks: (PublishAck | undefined)[], done: Set<number>): void {
    const dedup = meta.duplicateWindowMs > 0;
    const nth = new Map<number, number>();
    const at = Date.now();
    for (const i of appended) {
      const p = partitions[i]!;
      const k = nth.get(p) ?? 0;
      nth.set(p, k + 1);
      const offset = Number(base.get(p)!) + k;
      acks[i] = { partition: p, offset, duplicate: false };
      done.add(i);
      const id = records[i]!.id;
      const idx = q.indexes.get(p);
      if (dedup && id !== undefined && idx) idx.add(id, { offset, at });
    }
    // Nobody appended between the index's end and our batch: the index now covers our records too.
    for (const [p, count] of nth) {
      const idx = q.indexes.get(p);
      if (idx && idx.end === base.get(p)) idx.end = base.get(p)! + BigInt(count);
    }
  }

  /** Brings the indexes of these partitions up to the end of the log (built on first use from the window's start). */
  private async catchUp(meta: TopicMeta, q: TopicQueue, partitions: number[]): Promise<void> {
    if (partitions.length === 0) return;
    await this.ctx.retrying(`duplicate check of ${meta.kafka}`, () => this.ctx.readerSerial.run(async () => {
      const ends = await listOffsets(this.ctx.reader, meta.kafka, partitions, 'latest');
      const fresh = partitions.filter((p) => q.indexes.get(p)?.end === undefined);
      const starts = await listOffsets(this.ctx.reader, meta.kafka, fresh, { time: Date.now() - meta.duplicateWindowMs });
      for (const p of partitions) {
        let idx = q.indexes.get(p);
        if (!idx) {
          idx = new PartitionIndex(meta.duplicateWindowMs);
          q.indexes.set(p, idx);
        }
        const end = ends.get(p) ?? 0n;
        let from = idx.end;
        if (from === undefined) {
          const s = starts.get(p) ?? -1n;
          from = s < 0n ? end : s;
        }
        if (from < end) {
          for (const { record, id } of await readRange(this.ctx.reader, meta.kafka, p, from, Number.MAX_SAFE_INTEGER, end)) {
            if (id !== undefined) idx.add(id, { offset: record.offset, at: record.timestamp });
          }
        }
        if (idx.end === undefined || end > idx.end) idx.end = end;
      }
    }));
  }
}

/**
 * Record indexes split into levels, sent one after the other, so that each partition's batch in a send stays under
 * MAX_BATCH_BYTES (the broker's max.message.bytes applies per batch; a bigger record goes alone). Most rounds are one level.
 */
function levels(indexes: readonly number[], partitions: readonly number[], records: readonly OutgoingRecord[]): number[][] {
  const out: number[][] = [];
  const level = new Map<number, number>();
  const size = new Map<number, number>();
  for (const i of indexes) {
    const p = partitions[i]!;
    const s = approxSize(records[i]!);
    let l = level.get(p) ?? 0;
    if ((size.get(p) ?? 0) > 0 && (size.get(p) ?? 0) + s > MAX_BATCH_BYTES) {
      l++;
      size.set(p, 0);
    }
    level.set(p, l);
    size.set(p, (size.get(p) ?? 0) + s);
    (out[l] ??= []).push(i);
  }
  return out;
}

function groupBy<T, K>(items: readonly T[], key: (t: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const t of items) {
    const k = key(t);
    const list = out.get(k);
    if (list) list.push(t);
    else out.set(k, [t]);
  }
  return out;
}
