import type { ObjectStore } from '../objectstore/index.ts';

/**
 * Row count and column-chunk sizes of a Parquet object, from its footer alone (two range reads at most, whatever the
 * file's size): what `dronewatch lake stats` needs without downloading the lake. The footer is a Thrift
 * compact-protocol `FileMetaData`; this reader decodes any struct generically and picks the few fields it needs:
 *
 *   FileMetaData: 3 num_rows i64, 4 row_groups list<RowGroup>
 *   RowGroup:     1 columns list<ColumnChunk>
 *   ColumnChunk:  3 meta_data ColumnMetaData
 *   ColumnMetaData: 6 total_uncompressed_size i64, 7 total_compressed_size i64
 */

export interface ParquetFooterInfo {
  rows: number;
  /** Sum of the column chunks' sizes before and after compression (encoding included in both). */
  uncompressedBytes: number;
  compressedBytes: number;
}

type Value = number | boolean | Uint8Array | Value[] | Struct | Map<Value, Value>;
type Struct = Map<number, Value>;

class Reader {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new RangeError('parquet footer: truncated');
    return this.buf[this.pos++]!;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 70n) throw new RangeError('parquet footer: varint too long');
    }
  }

  zigzag(): number {
    const v = this.varint();
    return Number((v >> 1n) ^ -(v & 1n));
  }

  value(type: number): Value {
    switch (type) {
      case 1: return true;
      case 2: return false;
      case 3: return (this.byte() << 24) >> 24;
      case 4: case 5: case 6: return this.zigzag();
      case 7: this.pos += 8; return 0; // doubles (statistics) are not needed
      case 8: {
        const n = Number(this.varint());
        const b = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return b;
      }
      case 9: case 10: {
        const h = this.byte();
        const size = (h >> 4) === 15 ? Number(this.varint()) : h >> 4;
        const elem = h & 0x0f;
        const out: Value[] = [];
        for (let i = 0; i < size; i++) out.push(elem === 1 || elem === 2 ? this.byte() === 1 : this.value(elem));
        return out;
      }
      case 11: {
        const size = Number(this.varint());
        const m = new Map<Value, Value>();
        if (size === 0) return m;
        const kv = this.byte();
        for (let i = 0; i < size; i++) m.set(this.value(kv >> 4), this.value(kv & 0x0f));
        return m;
      }
      case 12: return this.struct();
      default: throw new RangeError(`parquet footer: unknown thrift type ${type}`);
    }
  }

  struct(): Struct {
    const fields: Struct = new Map();
    let last = 0;
    for (;;) {
      const h = this.byte();
      if (h === 0) return fields;
      const delta = h >> 4;
      const id = delta === 0 ? this.zigzag() : last + delta;
      fields.set(id, this.value(h & 0x0f));
      last = id;
    }
  }
}

const num = (v: Value | undefined): number => (typeof v === 'number' ? v : 0);
const list = (v: Value | undefined): Value[] => (Array.isArray(v) ? v : []);
const struct = (v: Value | undefined): Struct => (v instanceof Map ? (v as Struct) : new Map());

/** Decodes a serialized FileMetaData. */
export function parseFooter(meta: Uint8Array): ParquetFooterInfo {
  const fmd = new Reader(meta).struct();
  let uncompressedBytes = 0;
  let compressedBytes = 0;
  for (const rg of list(fmd.get(4))) {
    for (const cc of list(struct(rg).get(1))) {
      const md = struct(struct(cc).get(3));
      uncompressedBytes += num(md.get(6));
      compressedBytes += num(md.get(7));
    }
  }
  return { rows: num(fmd.get(3)), uncompressedBytes, compressedBytes };
}

const TAIL = 64 * 1024;

/** Reads the footer of the Parquet object `key` of `size` bytes with range reads. */
export async function readParquetFooter(store: ObjectStore, key: string, size: number): Promise<ParquetFooterInfo | undefined> {
  if (size < 12) return undefined;
  const tailStart = Math.max(0, size - TAIL);
  const tail = await store.getRange(key, tailStart, size - tailStart);
  if (!tail || tail.length !== size - tailStart) return undefined; // replaced or deleted meanwhile
  if (tail.subarray(tail.length - 4).toString('latin1') !== 'PAR1') throw new Error(`${key} is not a Parquet file`);
  const len = tail.readUInt32LE(tail.length - 8);
  if (len + 8 > size) throw new Error(`${key}: damaged Parquet footer`);
  const start = size - 8 - len;
  const meta = start >= tailStart
    ? tail.subarray(start - tailStart, tail.length - 8)
    : await store.getRange(key, start, len);
  if (!meta || meta.length !== len) return undefined;
  return parseFooter(meta);
}
