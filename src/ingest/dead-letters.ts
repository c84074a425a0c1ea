import { randomUUID } from 'node:crypto';
import type { DwError, ErrorCode, FieldError } from '../errors/index.ts';
import { TOPICS, type OutgoingRecord, type StartPosition, type Stream } from '../stream/index.ts';

/**
 * Dead letters: every rejected item, with its raw bytes, kept on the stream's `dead-letters` topic so they exist in
 * every deployment (embedded or distributed) without another store, and expire with the topic's retention (30 days).
 * An item of any size is kept whole: above DEAD_LETTER_PART_BYTES its bytes are split over several records of the
 * topic (a NATS message holds 1 MiB by default), published in one batch and joined again when read.
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
  /** Size of the rejected item in bytes (of a body over the body limit: the bytes received, reading stops one past the limit). */
  rawBytes: number;
  /**
   * True when rawBase64 does not hold every byte: a body over the request body limit (only its first 64 KiB are kept),
   * or a letter split over several records some of which the topic's retention removed before it was read. Nothing
   * else is cut when it is stored.
   */
  truncated: boolean;
}

/** A dead letter as read back, with its place in the topic. */
export interface StoredDeadLetter extends DeadLetter {
  partition: number;
  offset: number;
  /** When the stream stored it (its append time), epoch ms: what `since` compares with. */
  storedAt: number;
}

/** Raw bytes per record of the topic: a bigger item is split over several records (base64 makes a record ~700 KB). */
export const DEAD_LETTER_PART_BYTES = 512 * 1024;

/** `cut`: `raw` is only the beginning of the item, `rawBytes` long as received (the letter is then `truncated`). */
export function deadLetterOf(error: DwError, raw: Uint8Array | string, where: { receivedAt: number; source: string; tenant: string; index: number }, cut?: { rawBytes: number }): DeadLetter {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    receivedAt: where.receivedAt,
    source: where.source,
    tenant: where.tenant,
    index: where.index,
    code: error.code,
    reason: error.message,
    errors: error.details ?? [],
    rawBase64: bytes.toString('base64'),
    rawBytes: cut?.rawBytes ?? bytes.length,
    truncated: cut !== undefined,
  };
}

/** One record of a letter split over several: the letter's fields, its id, which part, and that part's bytes. */
interface DeadLetterPart extends DeadLetter {
  letterId: string;
  part: number;
  parts: number;
}

function recordsOf(l: DeadLetter): OutgoingRecord[] {
  const bytes = Buffer.from(l.rawBase64, 'base64');
  if (bytes.length <= DEAD_LETTER_PART_BYTES) return [{ key: l.tenant, value: Buffer.from(JSON.stringify(l), 'utf8') }];
  const letterId = randomUUID();
  const parts = Math.ceil(bytes.length / DEAD_LETTER_PART_BYTES);
  return Array.from({ length: parts }, (_, part) => {
    const chunk = bytes.subarray(part * DEAD_LETTER_PART_BYTES, (part + 1) * DEAD_LETTER_PART_BYTES);
    const record: DeadLetterPart = { ...l, rawBase64: chunk.toString('base64'), letterId, part, parts };
    return { key: l.tenant, value: Buffer.from(JSON.stringify(record), 'utf8') };
  });
}

/** Publishes dead letters in one batch; a failure propagates (a rejected item is never dropped silently). */
export async function publishDeadLetters(stream: Stream, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  await stream.publish(TOPICS.deadLetters, letters.flatMap(recordsOf));
}

/**
 * Dead letters in the order they were stored, oldest first: from `since` (epoch ms, compared with the storage time
 * `storedAt`) or from the oldest kept; with `tenant`, only that tenant's. To page, pass the last `storedAt` seen as
 * `since` (letters stored in that same millisecond come again; drop them by partition and offset). A letter split
 * over several records is returned whole, at the place of its first record; if retention already removed some of
 * its records, with what is left and `truncated`.
 */
export async function listDeadLetters(stream: Stream, opts: { limit: number; since?: number; tenant?: string }): Promise<StoredDeadLetter[]> {
  const out: StoredDeadLetter[] = [];
  /** Letters split over several records, being joined: by id, in `out` at their first record's place. */
  const joining = new Map<string, { letter: StoredDeadLetter; chunks: (Buffer | undefined)[] }>();
  const finish = (j: { letter: StoredDeadLetter; chunks: (Buffer | undefined)[] }): void => {
    const have = j.chunks.filter((c): c is Buffer => c !== undefined);
    j.letter.rawBase64 = Buffer.concat(have).toString('base64');
    j.letter.truncated ||= have.length < j.chunks.length;
  };
  let from: StartPosition = opts.since === undefined ? 'earliest' : { time: opts.since };
  // Other tenants' letters are skipped, and a letter may span several records: read more than `limit` at a time.
  const page = Math.max(opts.tenant === undefined ? opts.limit : Math.max(opts.limit, 1000), 16);
  for (;;) {
    const records = await stream.read(TOPICS.deadLetters, { from, limit: page });
    for (const r of records) {
      const value = JSON.parse(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('utf8')) as DeadLetter | DeadLetterPart;
      if (opts.tenant !== undefined && value.tenant !== opts.tenant) continue;
      if (!('letterId' in value)) {
        if (out.length < opts.limit) out.push({ ...value, partition: r.partition, offset: r.offset, storedAt: r.timestamp });
        continue;
      }
      const { letterId, part, parts, ...letter } = value;
      let j = joining.get(letterId);
      if (!j) {
        if (out.length >= opts.limit) continue; // a letter beyond the limit: its parts are not needed
        j = { letter: { ...letter, partition: r.partition, offset: r.offset, storedAt: r.timestamp }, chunks: new Array<Buffer | undefined>(parts).fill(undefined) };
        joining.set(letterId, j);
        out.push(j.letter);
      }
      j.chunks[part] = Buffer.from(letter.rawBase64, 'base64');
      if (j.chunks.every((c) => c !== undefined)) {
        finish(j);
        joining.delete(letterId);
      }
    }
    // Done when enough letters are complete, or the topic has no more records.
    if ((out.length >= opts.limit && joining.size === 0) || records.length < page) break;
    from = { offset: records[records.length - 1]!.offset + 1 };
  }
  // Letters whose first records were removed by retention, or still being written: what is there.
  for (const j of joining.values()) finish(j);
  return out;
}

/** The raw bytes kept in a dead letter. */
export function deadLetterRaw(letter: DeadLetter): Buffer {
  return Buffer.from(letter.rawBase64, 'base64');
}
