/**
 * Packed topics: the batch, not the record, is the unit JetStream stores (issue 14). With `sync_interval: always`
 * every JetStream message costs an fsync on each replica (~625 msgs/s on the 3-node test cluster), so one message per
 * record capped NatsStream at a few hundred records/s; one message per (publish round, partition) holding that
 * round's records of the partition (src/stream/batch-codec.ts, the embedded log's codec) moves hundreds of records
 * per fsync.
 *
 * Offsets stay per record: offset = seq * PACK + index of the record in its message. They increase strictly within
 * a partition (a partition's messages have increasing sequences) and are not contiguous, which the Stream interface
 * allows. PACK = 2^12 bounds a message to 4,096 records and leaves 2^41 sequences (~2.2e12 messages) under
 * Number.MAX_SAFE_INTEGER. Per-record topics (created before, no format marker, topics.ts) keep offset = seq: the
 * same functions with a factor of 1.
 *
 * Every packed message carries `Dw-End`: the number of records appended to the partition through this message (a
 * running count, Kafka's contiguous offset in all but name). Lag is per record: the difference of two running counts,
 * read from two messages, instead of reading every message in between. It is exact because appends to a partition
 * are serialised by JetStream's expected last subject sequence (packed-publish.ts): each message's writer knew the
 * previous message of its partition.
 */
import type { JsMsg, StoredMsg } from '@nats-io/jetstream';
import type { MsgHdrs } from '@nats-io/transport-node';
import { batchCount, decodeInto } from '../../../stream/batch-codec.ts';
import type { StreamRecord } from '../../../stream/types.ts';
import { msgToRecord } from './records.ts';
import { parseSubject } from './names.ts';
import type { TopicMeta } from './topics.ts';

export const PACK = 4096;
/** Header holding the partition's running record count through this message. */
export const END_HEADER = 'Dw-End';

type Layout = Pick<TopicMeta, 'packed'>;

/** Offset of the record at `index` of the message at `seq`. */
export function offsetOf(meta: Layout, seq: number, index = 0): number {
  return meta.packed ? seq * PACK + index : seq;
}

/** Sequence of the message holding `offset` (for a start position: read from that message on). */
export function seqOf(meta: Layout, offset: number): number {
  return meta.packed ? Math.floor(offset / PACK) : offset;
}

/** The lowest offset a record can have (that of the stream's first message). */
export function firstOffset(meta: Layout): number {
  return offsetOf(meta, 1);
}

/** A packed message's payload as a Buffer view (the codec reads Buffers; no copy). */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Records in a packed message. */
export function packedCount(data: Uint8Array): number {
  return data.byteLength < 4 ? 0 : batchCount(asBuffer(data));
}

/** The running count of a packed message (0 when absent: not written by a packed publisher). */
export function runningEnd(m: StoredMsg): number {
  return endOf(m.header);
}

/** The same from a message's headers (a consumed message has `headers`, a stored one `header`). */
export function endOf(h: MsgHdrs | undefined): number {
  const v = Number(h?.get(END_HEADER));
  return Number.isFinite(v) ? v : 0;
}

/**
 * Appends to `out` the records of a consumed message with offsets >= `from`; returns the offset after its last record
 * (the next offset wanted), or `from` if it held none at or after it.
 */
export function msgRecords(meta: Layout & { name: string }, m: JsMsg, from: number, out: StreamRecord[]): number {
  if (!meta.packed) {
    if (m.seq < from) return from;
    out.push(msgToRecord(meta.name, m));
    return m.seq + 1;
  }
  const data = asBuffer(m.data);
  const base = offsetOf(meta, m.seq);
  const n = packedCount(data);
  if (base + n <= from) return from;
  const { partition } = parseSubject(m.subject);
  decodeInto(meta.name, partition, { base, last: base + n - 1, ts: Number(m.timestampNanos / 1_000_000n), data }, from, n, out);
  return base + n;
}
