/**
 * Lag of a group on a packed topic, per record (packing.ts): the partition's running count (Dw-End) at its last
 * message minus the count through the committed offset, from at most three direct message reads per partition, as
 * cheap as the per-record topics' answer from the consumer's counters (which count messages here, not records).
 */
import type { JetStreamManager, MsgRequest, StoredMsg } from '@nats-io/jetstream';
import type { PartitionLag } from '../../../stream/types.ts';
import { packedSubject } from './names.ts';
import { offsetOf, packedCount, PACK, runningEnd } from './packing.ts';
import { API_CODE, apiCode } from './retry.ts';
import type { TopicMeta } from './topics.ts';

async function get(jsm: JetStreamManager, stream: string, q: { seq: number } | { last_by_subj: string } | { seq: number; next_by_subj: string }): Promise<StoredMsg | null> {
  try {
    // next_by_subj: supported by the server's STREAM.MSG.GET, not in the client's request type.
    return await jsm.streams.getMessage(stream, q as MsgRequest);
  } catch (e) {
    if (apiCode(e) === API_CODE.noMessageFound) return null;
    throw e;
  }
}

/** Records of the partition through `committed` by the running count (those deleted by retention included). */
async function countThrough(jsm: JetStreamManager, meta: TopicMeta, subject: string, committed: number): Promise<number | undefined> {
  const seq = Math.floor(committed / PACK);
  const index = committed % PACK;
  if (seq >= 1) {
    const m = await get(jsm, meta.stream, { seq });
    if (m && m.subject === subject) {
      const n = packedCount(m.data);
      return runningEnd(m) - n + Math.min(index + 1, n);
    }
  }
  // The committed record's message is gone (retention) or the offset is a start position before a message: the
  // count before the partition's next message.
  const next = await get(jsm, meta.stream, { seq: seq + 1, next_by_subj: subject });
  return next ? runningEnd(next) - packedCount(next.data) : undefined;
}

export async function packedLag(jsm: JetStreamManager, meta: TopicMeta, tenant: string, partition: number, committed: number): Promise<PartitionLag> {
  const subject = packedSubject(meta.name, tenant, partition);
  const last = await get(jsm, meta.stream, { last_by_subj: subject });
  if (!last) return { partition, committed, end: -1, lag: 0 };
  const n = packedCount(last.data);
  const end = offsetOf(meta, last.seq, n - 1);
  if (committed >= end) return { partition, committed, end, lag: 0 };
  const through = await countThrough(jsm, meta, subject, Math.max(0, committed));
  const lag = through === undefined ? 0 : Math.max(0, runningEnd(last) - through);
  return { partition, committed, end, lag };
}
