import type { Headers, StreamRecord } from './types.ts';

/**
 * The unit stored per partition (Kafka's record batches), shared by two backends: the embedded log stores one row per
 * batch of records appended by one write transaction, NatsStream one JetStream message per (publish round, partition)
 * (src/backend/nats/stream/packed-publish.ts); offsets stay per record in both. The blob:
 *
 *   u32 count | count x (u32 keyEnd, u32 idEnd, u32 headersEnd, u32 valueEnd) | record bytes
 *
 * Each record's bytes are key (UTF-8), id (UTF-8), headers (JSON, empty for none), value, in that order, right after
 * the previous record's; the ends are relative to the start of the record bytes, so any record (and any id, for the
 * dedup check) is found without reading the others. Bit 31 of idEnd marks a record without id. Little-endian.
 *
 * Why: a row per record cost an insert (~4 us) at publish and a row read plus a Buffer allocation (~3-6 us) in each
 * consumer; a batch is one insert and one read, and its values are views on the one blob read back.
 */

const NO_ID = 0x80000000;
const ENTRY = 16;

/** One record to store. */
export interface BatchEntry {
  key: string;
  id: string | undefined;
  /** Headers as JSON text, or null for none. */
  headers: string | null;
  value: Uint8Array;
}

/** One stored batch row: offsets base..last, all appended at `ts`. */
export interface StoredBatch {
  base: number;
  last: number;
  ts: number;
  data: Buffer;
}

export function encodeBatch(entries: readonly BatchEntry[]): Buffer {
  const n = entries.length;
  const keyLen = new Array<number>(n);
  const idLen = new Array<number>(n);
  const hdrLen = new Array<number>(n);
  let bytes = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const k = Buffer.byteLength(e.key, 'utf8');
    const d = e.id === undefined ? 0 : Buffer.byteLength(e.id, 'utf8');
    const h = e.headers === null ? 0 : Buffer.byteLength(e.headers, 'utf8');
    keyLen[i] = k;
    idLen[i] = d;
    hdrLen[i] = h;
    bytes += k + d + h + e.value.byteLength;
  }
  const start = 4 + ENTRY * n;
  if (bytes >= NO_ID) throw new RangeError(`a batch of ${bytes} bytes is too large to store`);
  // Not from Node's 8 KiB pool: a stored batch stays in the publishing connection's tail for up to 30 s, and a pooled
  // slice keeps its whole slab alive (small batches of the alert and incident topics held ~8 KiB each).
  const buf = Buffer.allocUnsafeSlow(start + bytes);
  buf.writeUInt32LE(n, 0);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const e = entries[i]!;
    const at = 4 + ENTRY * i;
    buf.write(e.key, start + pos, 'utf8');
    pos += keyLen[i]!;
    buf.writeUInt32LE(pos, at);
    if (e.id !== undefined) buf.write(e.id, start + pos, 'utf8');
    pos += idLen[i]!;
    buf.writeUInt32LE(e.id === undefined ? (pos | NO_ID) >>> 0 : pos, at + 4);
    if (e.headers !== null) buf.write(e.headers, start + pos, 'utf8');
    pos += hdrLen[i]!;
    buf.writeUInt32LE(pos, at + 8);
    buf.set(e.value, start + pos);
    pos += e.value.byteLength;
    buf.writeUInt32LE(pos, at + 12);
  }
  return buf;
}

export function batchCount(data: Buffer): number {
  return data.readUInt32LE(0);
}

/** The id of the record at `index` of the batch, or undefined if it has none. */
export function idAt(data: Buffer, index: number): string | undefined {
  const n = data.readUInt32LE(0);
  const start = 4 + ENTRY * n;
  const at = 4 + ENTRY * index;
  const keyEnd = data.readUInt32LE(at);
  const idEnd = data.readUInt32LE(at + 4);
  if (idEnd & NO_ID) return undefined;
  return data.toString('utf8', start + keyEnd, start + idEnd);
}

/** Calls visit(offset, id) for every record with an id at or after `from`, in offset order. */
export function forEachId(b: StoredBatch, from: number, visit: (offset: number, id: string) => void): void {
  const n = b.data.readUInt32LE(0);
  for (let i = Math.max(0, from - b.base); i < n; i++) {
    const id = idAt(b.data, i);
    if (id !== undefined) visit(b.base + i, id);
  }
}

/**
 * Appends to `out` the records of the batch from offset `from` on, at most `max`; returns how many. Values are views
 * on the batch's blob (no copy).
 */
export function decodeInto(topic: string, partition: number, b: StoredBatch, from: number, max: number, out: StreamRecord[]): number {
  const data = b.data;
  const n = data.readUInt32LE(0);
  const start = 4 + ENTRY * n;
  let i = Math.max(0, from - b.base);
  const end = Math.min(n, i + max);
  const first = i;
  let pos = i === 0 ? 0 : data.readUInt32LE(4 + ENTRY * i - 4);
  for (; i < end; i++) {
    const at = 4 + ENTRY * i;
    const keyEnd = data.readUInt32LE(at);
    const idEnd = (data.readUInt32LE(at + 4) & ~NO_ID) >>> 0;
    const hdrEnd = data.readUInt32LE(at + 8);
    const valueEnd = data.readUInt32LE(at + 12);
    out.push({
      topic,
      partition,
      offset: b.base + i,
      key: data.toString('utf8', start + pos, start + keyEnd),
      value: data.subarray(start + hdrEnd, start + valueEnd),
      headers: hdrEnd > idEnd ? (JSON.parse(data.toString('utf8', start + idEnd, start + hdrEnd)) as Headers) : {},
      timestamp: b.ts,
    });
    pos = valueEnd;
  }
  return end - first;
}
