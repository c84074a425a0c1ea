import { createHash, randomUUID } from 'node:crypto';
import { isDwError, type DwError, type ErrorCode, type FieldError } from '../errors/index.ts';
import {
  DEFAULT_TOPIC_CONFIG, TOPICS, type OutgoingRecord, type ReadOptions, type StartPosition, type Stream, type StreamRecord, type TopicConfig,
} from '../stream/index.ts';

/**
 * Dead letters: every rejected item, with its raw bytes, kept on the stream so they exist in every deployment
 * (embedded or distributed) without another store, and expire with the topic's retention (30 days).
 *
 * Each tenant (police force) has its own topic, `dead-letters-<tenant>` (deadLetterTopic), with its own size bound:
 * retention by size only ever removes the oldest records of one topic, so one force's traffic can never evict another
 * force's evidence (issue 15, item 2: with one shared topic, 18 bodies of 31 MiB from one gateway wiped another
 * force's letters). This holds on every backend: a topic is a table set in the embedded log, a JetStream stream with
 * its own max_bytes on NATS, a Kafka topic with its own retention.bytes. Letters written before this change stay on
 * the shared `dead-letters` topic and are still listed (first: they are all older).
 *
 * One letter keeps at most DEAD_LETTER_KEPT_BYTES of its item (the first bytes) with the item's size and SHA-256, so
 * a tenant's bound holds many letters, not a handful of huge ones; up to that, above DEAD_LETTER_PART_BYTES, its
 * bytes are split over several records (a NATS message holds 1 MiB by default), published in one batch and joined
 * again when read.
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
   * True when rawBase64 does not hold every byte: an item over DEAD_LETTER_KEPT_BYTES (its first bytes are kept), a
   * body over the request body limit (only its first 64 KiB are kept), or a letter split over several records some
   * of which the topic's retention removed before it was read.
   */
  truncated: boolean;
  /**
   * SHA-256 (hex) of the whole item as received, when the letter was made from all its bytes: with rawBytes, it
   * identifies an item whose letter keeps only its beginning. Absent for a body over the request body limit (never
   * read whole) and in letters written before it existed.
   */
  rawSha256?: string;
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

/**
 * Bytes of one rejected item kept in its letter: 4 MiB is far more than any report (64 KiB) and than what one needs
 * to see who sent what; the size and digest of the whole item are recorded beside them.
 */
export const DEAD_LETTER_KEPT_BYTES = 4 * 1024 * 1024;

/**
 * The dead-letter topic of one tenant. Topic names are at most 64 characters of [a-z0-9_-] on every backend; a
 * tenant id too long for `dead-letters-<tenant>` is named by a digest instead, after a `_` that a plain name never
 * has at that place (so the two forms never collide).
 */
export function deadLetterTopic(tenant: string): string {
  const plain = `${TOPICS.deadLetters}-${tenant}`;
  return plain.length <= 64 ? plain : `${TOPICS.deadLetters}_${createHash('sha256').update(tenant, 'utf8').digest('hex').slice(0, 40)}`;
}

/** Per stream, the tenants whose topic this process has already ensured (ensureTopic is a round trip on a broker). */
const ensured = new WeakMap<Stream, Set<string>>();

/**
 * Creates the tenant's dead-letter topic (default: DEFAULT_TOPIC_CONFIG.deadLetters, a bound per tenant) and records
 * the tenant in the `dead-letter-tenants` topic, through which a listing of every tenant finds the topics. Done once
 * per stream and tenant in this process; a test or an operator may call it first with another `config`.
 */
export async function ensureDeadLetterTopic(stream: Stream, tenant: string, config: TopicConfig = DEFAULT_TOPIC_CONFIG.deadLetters): Promise<string> {
  const topic = deadLetterTopic(tenant);
  let seen = ensured.get(stream);
  if (!seen) ensured.set(stream, (seen = new Set()));
  if (seen.has(tenant)) return topic;
  await stream.ensureTopic(topic, config);
  await stream.ensureTopic(TOPICS.deadLetterTenants, DEFAULT_TOPIC_CONFIG.deadLetterTenants);
  await stream.publish(TOPICS.deadLetterTenants, [{ key: tenant, value: Buffer.from(tenant, 'utf8') }]);
  seen.add(tenant);
  return topic;
}

/** Tenants that have (or had) a dead-letter topic, from the registry topic; bounded by that topic's retention. */
async function registeredTenants(stream: Stream): Promise<string[]> {
  const tenants = new Set<string>();
  let from: StartPosition = 'earliest';
  for (;;) {
    const records = await readIfExists(stream, TOPICS.deadLetterTenants, { from, limit: 1000 });
    for (const r of records) tenants.add(r.key);
    if (records.length < 1000) break;
    from = { offset: records[records.length - 1]!.offset + 1 };
  }
  return [...tenants].sort();
}

/**
 * `cut`: `raw` is only the beginning of the item, `rawBytes` long as received (the letter is then `truncated`).
 * An item over DEAD_LETTER_KEPT_BYTES keeps its first DEAD_LETTER_KEPT_BYTES, with its size and digest.
 */
export function deadLetterOf(error: DwError, raw: Uint8Array | string, where: { receivedAt: number; source: string; tenant: string; index: number }, cut?: { rawBytes: number }): DeadLetter {
  const whole = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const bytes = whole.length > DEAD_LETTER_KEPT_BYTES ? whole.subarray(0, DEAD_LETTER_KEPT_BYTES) : whole;
  return {
    receivedAt: where.receivedAt,
    source: where.source,
    tenant: where.tenant,
    index: where.index,
    code: error.code,
    reason: error.message,
    errors: error.details ?? [],
    rawBase64: bytes.toString('base64'),
    rawBytes: cut?.rawBytes ?? whole.length,
    truncated: cut !== undefined || bytes.length < whole.length,
    ...(cut === undefined ? { rawSha256: createHash('sha256').update(whole).digest('hex') } : {}),
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

/**
 * Publishes dead letters, one batch per tenant's topic (an ingestion call has one tenant, so one batch); a failure
 * propagates (a rejected item is never dropped silently).
 */
export async function publishDeadLetters(stream: Stream, letters: readonly DeadLetter[]): Promise<void> {
  if (letters.length === 0) return;
  const byTenant = new Map<string, DeadLetter[]>();
  for (const l of letters) {
    const list = byTenant.get(l.tenant);
    if (list) list.push(l);
    else byTenant.set(l.tenant, [l]);
  }
  await Promise.all([...byTenant].map(async ([tenant, list]) => {
    const topic = await ensureDeadLetterTopic(stream, tenant);
    await stream.publish(topic, list.flatMap(recordsOf));
  }));
}

/**
 * Dead letters in the order they were stored, oldest first: from `since` (epoch ms, compared with the storage time
 * `storedAt`) or from the oldest kept; with `tenant`, only that tenant's (its topic, and its letters on the shared
 * topic of earlier versions), else every registered tenant's, merged by storage time. To page, pass the last
 * `storedAt` seen as `since` (letters stored in that same millisecond come again; drop them by partition and offset).
 * A letter split over several records is returned whole, at the place of its first record; if retention already
 * removed some of its records, with what is left and `truncated`.
 */
export async function listDeadLetters(stream: Stream, opts: { limit: number; since?: number; tenant?: string }): Promise<StoredDeadLetter[]> {
  // Topics are read, not ensured: ensuring would reset a topic's retention to the default on the embedded log.
  const legacy = await readLetters(stream, TOPICS.deadLetters, opts);
  const tenants = opts.tenant !== undefined ? [opts.tenant] : await registeredTenants(stream);
  const lists = [legacy];
  for (const tenant of tenants) lists.push(await readLetters(stream, deadLetterTopic(tenant), { ...opts, tenant }));
  if (lists.length === 2 && legacy.length === 0) return lists[1]!;
  // Stable: letters of the same millisecond keep their order within a topic, and the shared topic's come first.
  return lists.flat().sort((a, b) => a.storedAt - b.storedAt).slice(0, opts.limit);
}

/** The letters of one topic, oldest first (see listDeadLetters). */
async function readLetters(stream: Stream, topic: string, opts: { limit: number; since?: number; tenant?: string }): Promise<StoredDeadLetter[]> {
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
    const records = await readIfExists(stream, topic, { from, limit: page });
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

/** A topic nobody created yet (no letter of that tenant, ever) reads as empty. */
async function readIfExists(stream: Stream, topic: string, opts: ReadOptions): Promise<StreamRecord[]> {
  try {
    return await stream.read(topic, opts);
  } catch (e) {
    if (isDwError(e) && e.code === 'DW_STREAM_TOPIC_UNKNOWN') return [];
    throw e;
  }
}

/** The raw bytes kept in a dead letter. */
export function deadLetterRaw(letter: DeadLetter): Buffer {
  return Buffer.from(letter.rawBase64, 'base64');
}
