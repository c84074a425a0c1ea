/**
 * Records between the Stream model and Kafka record batches. Headers are Kafka headers, except that the record's
 * de-duplication id travels as the header `~id`; a caller's header whose name starts with `~` is stored with one more
 * `~`, so no caller header can be mistaken for ours and every caller header reads back unchanged.
 */
import type { RecordsBatch } from '@platformatic/kafka';
import type { Headers, OutgoingRecord, StreamRecord } from '../../stream/types.ts';

const ID_HEADER = '~id';
/** Batch attribute bit 3: the broker stamped the batch with its append time (message.timestamp.type=LogAppendTime). */
const LOG_APPEND_TIME = 0x08;
/** Batch attribute bit 5: a transaction marker, not a record. */
const CONTROL_BATCH = 0x20;

export function toKafkaHeaders(r: OutgoingRecord): Map<Buffer, Buffer> {
  const out = new Map<Buffer, Buffer>();
  for (const [k, v] of Object.entries(r.headers ?? {})) out.set(Buffer.from(k.startsWith('~') ? `~${k}` : k, 'utf8'), Buffer.from(v, 'utf8'));
  if (r.id !== undefined) out.set(Buffer.from(ID_HEADER), Buffer.from(r.id, 'utf8'));
  return out;
}

/** Buffer view of a Uint8Array without copying. */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/** Bytes a record takes in a produce request, roughly (to keep each request under the broker's size limits). */
export function approxSize(r: OutgoingRecord): number {
  let n = 70 + r.key.length * 3 + r.value.byteLength + (r.id?.length ?? 0) * 3;
  for (const [k, v] of Object.entries(r.headers ?? {})) n += (k.length + v.length) * 3 + 8;
  return n;
}

export interface DecodedRecord {
  record: StreamRecord;
  /** The de-duplication id it was published with, if any. */
  id: string | undefined;
}

/** Records of fetched batches from `from` on (a batch may start before the offset asked for). */
export function decodeBatches(topic: string, partition: number, batches: readonly RecordsBatch[] | null | undefined, from: bigint): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  for (const batch of batches ?? []) {
    if (batch.attributes & CONTROL_BATCH) continue;
    const appendTime = batch.attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : undefined;
    for (const r of batch.records) {
      const offset = batch.firstOffset + BigInt(r.offsetDelta);
      if (offset < from) continue;
      const headers: Headers = {};
      let id: string | undefined;
      for (const [hk, hv] of r.headers) {
        const name = hk?.toString('utf8') ?? '';
        const value = hv?.toString('utf8') ?? '';
        if (name === ID_HEADER) id = value;
        else headers[name.startsWith('~~') ? name.slice(1) : name] = value;
      }
      out.push({
        id,
        record: {
          topic,
          partition,
          offset: Number(offset),
          key: r.key?.toString('utf8') ?? '',
          value: r.value ?? new Uint8Array(0),
          headers,
          timestamp: appendTime ?? Number(batch.firstTimestamp + r.timestampDelta),
        },
      });
    }
  }
  return out;
}
