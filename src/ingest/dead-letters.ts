import type { DwError, ErrorCode, FieldError } from '../errors/index.ts';
import { TOPICS, type OutgoingRecord, type StartPosition, type Stream } from '../stream/index.ts';

/**
 * Dead letters: every rejected item, with its raw bytes, kept on the stream's `dead-letters` topic so they exist in
 * every deployment (embedded or distributed) without another store, and expire with the topic's retention (30 days).
 */
export interface DeadLetter {
  /** Epoch ms at which ingestion received the body. */
  receivedAt: number;
  /** Where the body came from, as the caller named it (e.g. `http:203.0.113.7`, `simulator`). */
  source: string;
  tenant: string;
  /** Position of the item in its body (array element, NDJSON line number from 0; 0 for a single report). */
  index: number;
  code: ErrorCode;
  /** One-line summary, e.g. `citizens[0].score: must be <= 100`. */
  reason: string;
  errors: FieldError[];
  /** The rejected bytes: the NDJSON line, the array element re-serialised, or the whole body (single or malformed). */
  rawBase64: string;
  /** Size of the rejected item in bytes (before any truncation). */
  rawBytes: number;
  /** True when rawBase64 holds only the first MAX_DEAD_LETTER_RAW_BYTES bytes (a huge body is not copied whole). */
  truncated: boolean;
}

/** A dead letter as read back, with its place in the topic. */
export interface StoredDeadLetter extends DeadLetter {
  partition: number;
  offset: number;
  /** When the stream stored it (its append time), epoch ms: what `since` compares with. */
  storedAt: number;
}

/** Largest raw payload copied into a dead letter; bigger items keep their first bytes and are marked truncated. */
export const MAX_DEAD_LETTER_RAW_BYTES = 1024 * 1024;

export function deadLetterOf(error: DwError, raw: Uint8Array | string, where: { receivedAt: number; source: string; tenant: string; index: number }): DeadLetter {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const truncated = bytes.length > MAX_DEAD_LETTER_RAW_BYTES;
  const kept = truncated ? bytes.subarray(0, MAX_DEAD_LETTER_RAW_BYTES) : bytes;
  return {
    receivedAt: where.receivedAt,
    source: where.source,
    tenant: where.tenant,
    index: where.index,
    code: error.code,
    reason: error.message,
    errors: error.details ?? [],
    rawBase64: kept.toString('base64'),
    rawBytes: bytes.length,
    truncated,
  };
}

/** Publishes dead letters in one batch; a failure propagates (a rejected item is never dropped silently). */
export async function publishDeadLetters(stream: Stream, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const records: OutgoingRecord[] = letters.map((l) => ({ key: l.tenant, value: Buffer.from(JSON.stringify(l), 'utf8') }));
  await stream.publish(TOPICS.deadLetters, records);
}

/**
 * Dead letters in the order they were stored, oldest first: from `since` (epoch ms, compared with the storage time
 * `storedAt`) or from the oldest kept. To page, pass the last `storedAt` seen as `since` (letters stored in that same
 * millisecond come again; drop them by partition and offset).
 */
/**
 * Dead letters, oldest first. With `tenant`, only that tenant's (read page by page until `limit` of them are found:
 * the topic has one partition, so offsets order it).
 */
export async function listDeadLetters(stream: Stream, opts: { limit: number; since?: number; tenant?: string }): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  let from: StartPosition = opts.since === undefined ? 'earliest' : { time: opts.since };
  const page = opts.tenant === undefined ? opts.limit : Math.max(opts.limit, 1000);
  for (;;) {
    const records = await stream.read(TOPICS.deadLetters, { from, limit: page });
    for (const r of records) {
      const letter = JSON.parse(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('utf8')) as DeadLetter;
      if (opts.tenant !== undefined && letter.tenant !== opts.tenant) continue;
      out.push({ ...letter, partition: r.partition, offset: r.offset, storedAt: r.timestamp });
      if (out.length === opts.limit) return out;
    }
    if (records.length < page) return out;
    from = { offset: records[records.length - 1]!.offset + 1 };
  }
}

/** The raw bytes kept in a dead letter. */
export function deadLetterRaw(letter: DeadLetter): Buffer {
  return Buffer.from(letter.rawBase64, 'base64');
}
