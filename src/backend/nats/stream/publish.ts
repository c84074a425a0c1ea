import { setTimeout as sleep } from 'node:timers/promises';
import type { JetStreamClient, JetStreamManager, PubAck } from '@nats-io/jetstream';
import { nuid } from '@nats-io/transport-node';
import { StreamClosedError } from '../../../errors/index.ts';
import { partitionOf, type OutgoingRecord, type PublishAck } from '../../../stream/types.ts';
import { parseSubject, recordSubject } from './names.ts';
import { checkOutgoing, toNatsHeaders } from './records.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { isTransient } from './retry.ts';
import type { TopicMeta } from './topics.ts';

export interface PublisherOptions {
  tenant: string;
  /** Per attempt: how long to wait for a PubAck. */
  ackTimeoutMs: number;
  /** Total time to keep retrying records whose attempt failed transiently (failover). */
  retryForMs: number;
  closed: () => boolean;
}

/** Publishes in flight at once per batch: pipelining hides the round trip; the cap bounds memory. */
const WINDOW = 1024;

/**
 * Publishes a batch as pipelined JetStream publishes, each with a Nats-Msg-Id: the record's id on topics with
 * de-duplication (the server answers `duplicate` within the window), a random id otherwise. Either way a record whose
 * PubAck was lost (timeout, leader failover) is published again with the same id, so the retry cannot append it twice.
 * Retries are sent in the batch's order, but a record retried after a failover lands after the records of the same
 * key that succeeded in the first attempt (JetStream has no per-producer ordering across retries, like Kafka with
 * several requests in flight).
 */
export class NatsPublisher {
  constructor(private readonly js: JetStreamClient, private readonly jsm: JetStreamManager, private readonly opts: PublisherOptions) {}

  async publish(meta: TopicMeta, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    const n = records.length;
    const subjects = new Array<string>(n);
    const msgIds = new Array<string>(n);
    const partitions = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const r = records[i]!;
      checkOutgoing(r);
      partitions[i] = partitionOf(r.key, meta.partitions);
      subjects[i] = recordSubject(meta.name, this.opts.tenant, partitions[i]!, r.key);
      msgIds[i] = meta.dedupMs > 0 && r.id !== undefined ? r.id : nuid.next();
    }
    const pubAcks = new Array<PubAck | undefined>(n);
    /** Records whose earlier attempt may have been stored (its PubAck was lost). */
    const uncertain = new Array<boolean>(n).fill(false);
    const deadline = Date.now() + this.opts.retryForMs;
    let pending = [...Array(n).keys()];
    for (let attempt = 0; pending.length > 0; attempt++) {
      const failed: number[] = [];
      let lastError: unknown;
      for (let start = 0; start < pending.length; start += WINDOW) {
        const slice = pending.slice(start, start + WINDOW);
        const results = await Promise.allSettled(slice.map((i) => this.js.publish(subjects[i]!, records[i]!.value, {
          headers: toNatsHeaders(records[i]!.headers, msgIds[i]!),
          timeout: this.opts.ackTimeoutMs,
        })));
        for (const [j, res] of results.entries()) {
          const i = slice[j]!;
          if (res.status === 'fulfilled') { pubAcks[i] = res.value; continue; }
          if (this.opts.closed()) throw new StreamClosedError();
          if (!isTransient(res.reason)) throw res.reason;
          failed.push(i);
          uncertain[i] = true;
          lastError = res.reason;
        }
      }
      pending = failed;
      if (pending.length === 0) break;
      if (Date.now() >= deadline) throw new StreamUnavailableError(`publish of ${pending.length} record(s) to ${meta.stream}`, lastError);
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
    return this.toAcks(meta, pubAcks as PubAck[], partitions, uncertain);
  }

  /**
   * A duplicate's ack carries the original's offset; its partition is the original's, found in the batch or read from
   * the stream (the same id under another key would otherwise get a wrong partition). A "duplicate" of a record
   * whose own earlier attempt was lost is that attempt: not a duplicate for the caller.
   */
  private async toAcks(meta: TopicMeta, pubAcks: PubAck[], partitions: number[], uncertain: boolean[]): Promise<PublishAck[]> {
    const partitionOfSeq = new Map<number, number>();
    for (const [i, a] of pubAcks.entries()) if (!a.duplicate || uncertain[i]) partitionOfSeq.set(a.seq, partitions[i]!);
    const acks: PublishAck[] = new Array(pubAcks.length);
    const lookups: Promise<void>[] = [];
    for (const [i, a] of pubAcks.entries()) {
      if (!a.duplicate || uncertain[i]) {
        acks[i] = { partition: partitions[i]!, offset: a.seq, duplicate: false };
        continue;
      }
      const known = partitionOfSeq.get(a.seq);
      if (known !== undefined) {
        acks[i] = { partition: known, offset: a.seq, duplicate: true };
        continue;
      }
      acks[i] = { partition: partitions[i]!, offset: a.seq, duplicate: true };
      lookups.push(this.jsm.streams.getMessage(meta.stream, { seq: a.seq }).then((m) => {
        if (m) acks[i] = { partition: parseSubject(m.subject).partition, offset: a.seq, duplicate: true };
      }, () => { /* deleted by retention meanwhile: keep the record's own partition */ }));
    }
    await Promise.all(lookups);
    return acks;
  }
}
