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
 * Each partition's batch is its own send (all sent together): the client retries a send at the leader of its first
 * record's partition, so a send spanning partitions whose leaders then moved apart was resent to a broker that no
 * longer led some of them, answered NOT_LEADER_OR_FOLLOWER for the whole retry budget (30 s without ingestion after a
 * broker was killed). A one-partition send follows its partition's leader.
 */
import type { Producer, ProduceResult } from '@platformatic/kafka';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../../stream/types.ts';
import { call } from './client.ts';
import type { TopicMeta } from './catalog.ts';
import { PartitionIndex } from './dedup.ts';
import { listOffsets, readRange, type KafkaClient, type Serial } from './log.ts';
import { approxSize, asBuffer, toKafkaHeaders } from './records.ts';

/** Keeps each produce request well under the broker's default max.message.bytes (1 MiB) per partition batch. */
const MAX_REQUEST_BYTES = 900_000;
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
  producer: Producer;
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
    const send = (indexes: readonly number[]): Promise<ProduceResult> => call<ProduceResult>((cb) => this.ctx.producer.send({
      messages: indexes.map((i) => {
        const r = records[i]!;
        return { topic: meta.kafka, partition: partitions[i]!, key: Buffer.from(r.key, 'utf8'), value: asBuffer(r.value), headers: toKafkaHeaders(r) };
      }),
    }, cb));
    for (const chunk of chunks(toSend, records)) {
      const byPartition = new Map<number, number[]>();
      for (const i of chunk) {
        const list = byPartition.get(partitions[i]!);
        if (list) list.push(i);
        else byPartition.set(partitions[i]!, [i]);
      }
      // Every send settled before the round ends, failed or not: the next round's duplicate check must see what this
      // one appended.
      const settled = await Promise.allSettled([...byPartition.values()].map(send));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      const base = new Map<number, bigint>();
      for (const r of settled) {
        if (r.status === 'fulfilled') for (const o of r.value.offsets ?? []) if (o.topic === meta.kafka) base.set(o.partition, o.offset);
      }
      // One record batch per partition per request: the records of a partition have consecutive offsets from its base.
      const nth = new Map<number, number>();
      const at = Date.now();
      for (const i of chunk) {
        const p = partitions[i]!;
        const b = base.get(p);
        if (b === undefined) throw new Error(`the broker acknowledged no offset for partition ${p} of ${meta.kafka}`);
        const k = nth.get(p) ?? 0;
        nth.set(p, k + 1);
        const offset = Number(b) + k;
        acks[i] = { partition: p, offset, duplicate: false };
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
    for (const [i, first] of sameAs) acks[i] = { ...acks[first]!, duplicate: true };
    return acks as PublishAck[];
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

/** Record indexes split so that each produce request stays under MAX_REQUEST_BYTES (a bigger record goes alone). */
function chunks(indexes: number[], records: readonly OutgoingRecord[]): number[][] {
  const out: number[][] = [];
  let cur: number[] = [];
  let size = 0;
  for (const i of indexes) {
    const s = approxSize(records[i]!);
    if (cur.length > 0 && size + s > MAX_REQUEST_BYTES) {
      out.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(i);
    size += s;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
