/**
 * Reading partitions with Kafka's Fetch and ListOffsets requests, outside of any consumer group: used by read(), by
 * the de-duplication index, the catalog and retention, and (with the member's own client) by group members.
 *
 * One client must not run two fetches at once: the client keeps one incremental fetch session per broker (KIP-227),
 * and two interleaved requests would break its epochs. Callers serialise per client (see `Serial`).
 */
import { ListOffsetTimestamps, type Consumer } from '@platformatic/kafka';
import type { StartPosition } from '../../stream/types.ts';
import { call, kafkaErrorIs } from './client.ts';
import { decodeBatches, type DecodedRecord } from './records.ts';

export type KafkaClient = Consumer;
type FetchResponse = Awaited<ReturnType<KafkaClient['fetch']>>;

export interface PartitionFetch {
  records: DecodedRecord[];
  /** Offset to fetch next. */
  next: bigint;
  highWatermark: bigint;
  logStartOffset: bigint;
  /** The offset asked for is before the first kept record or after the end. */
  outOfRange: boolean;
}

export interface FetchOptions {
  /** How long the broker may hold the request waiting for data. 0 answers at once. */
  maxWaitMs: number;
  /** Per partition. Default 1 MiB. */
  maxBytes?: number;
}

/** Runs async functions one at a time, in call order. */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.catch(() => undefined);
    return next;
  }
}

async function topicLayout(client: KafkaClient, topic: string): Promise<{ id: string; leaders: number[] }> {
  const md = await call<Awaited<ReturnType<KafkaClient['metadata']>>>((cb) => client.metadata({ topics: [topic] }, cb));
  const t = md.topics.get(topic);
  if (!t) throw new Error(`no metadata for topic ${topic}`);
  return { id: t.id, leaders: t.partitions.map((p) => p.leader) };
}

/**
 * Runs a request on leaders found in the client's cached metadata; when it fails, forgets that metadata, so that the
 * caller's next attempt asks the cluster who leads now (a dead broker stays the cached leader otherwise).
 */
async function onLeaders<T>(client: KafkaClient, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (e) {
    client.clearMetadata();
    throw e;
  }
}

/** The partitions grouped by the broker that leads them, from the client's metadata. */
export function partitionsByLeader(client: KafkaClient, topic: string, partitions: readonly number[]): Promise<Map<number, number[]>> {
  return onLeaders(client, async () => {
    const layout = await topicLayout(client, topic);
    const out = new Map<number, number[]>();
    for (const p of partitions) {
      const leader = layout.leaders[p] ?? -1;
      const list = out.get(leader);
      if (list) list.push(p);
      else out.set(leader, [p]);
    }
    return out;
  });
}

/** One fetch of several partitions of a topic from their positions; one request per leader broker. */
export function fetchPartitions(client: KafkaClient, topic: string, wanted: ReadonlyMap<number, bigint>, opts: FetchOptions): Promise<Map<number, PartitionFetch>> {
  return onLeaders(client, () => fetchFromLeaders(client, topic, wanted, opts));
}

async function fetchFromLeaders(client: KafkaClient, topic: string, wanted: ReadonlyMap<number, bigint>, opts: FetchOptions): Promise<Map<number, PartitionFetch>> {
  const out = new Map<number, PartitionFetch>();
  if (wanted.size === 0) return out;
  const layout = await topicLayout(client, topic);
  const byLeader = new Map<number, number[]>();
  for (const p of wanted.keys()) {
    const leader = layout.leaders[p] ?? -1;
    byLeader.set(leader, [...(byLeader.get(leader) ?? []), p]);
  }
  await Promise.all([...byLeader].map(async ([node, partitions]) => {
    const request = {
      node,
      maxWaitTime: opts.maxWaitMs,
      minBytes: 1,
      maxBytes: (opts.maxBytes ?? 1 << 20) * partitions.length,
      topics: [{
        topicId: layout.id,
        partitions: partitions.map((partition) => ({
          partition, fetchOffset: wanted.get(partition)!, partitionMaxBytes: opts.maxBytes ?? 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1,
        })),
      }],
    };
    let response: FetchResponse;
    try {
      response = await call<FetchResponse>((cb) => client.fetch(request, cb));
    } catch (e) {
      // Out of range is a per-partition answer (retention moved the start, or a seek went past the end).
      const partial = (e as { response?: FetchResponse }).response;
      if (!kafkaErrorIs(e, 'OFFSET_OUT_OF_RANGE') || !partial) throw e;
      response = partial;
    }
    for (const t of response.responses) {
      for (const pr of t.partitions) {
        const from = wanted.get(pr.partitionIndex);
        if (from === undefined) continue;
        const records = pr.errorCode === 0 ? decodeBatches(topic, pr.partitionIndex, pr.records, from) : [];
        const last = records.at(-1);
        // Past the last record returned; past a whole batch of control records or aborted data when none are.
        let next = last ? BigInt(last.record.offset) + 1n : from;
        for (const b of pr.records ?? []) next = next > b.firstOffset + BigInt(b.lastOffsetDelta) + 1n ? next : b.firstOffset + BigInt(b.lastOffsetDelta) + 1n;
        out.set(pr.partitionIndex, {
          records,
          next: pr.errorCode === 0 ? next : from,
          highWatermark: pr.highWatermark,
          logStartOffset: pr.logStartOffset,
          outOfRange: pr.errorCode !== 0,
        });
      }
    }
  }));
  return out;
}

/** Offsets per partition: 'earliest' (first kept), 'latest' (the end: next offset to be written), or first at/after a time (-1n if none). */
export function listOffsets(client: KafkaClient, topic: string, partitions: readonly number[], at: 'earliest' | 'latest' | { time: number }): Promise<Map<number, bigint>> {
  return onLeaders(client, () => listLeaderOffsets(client, topic, partitions, at));
}

async function listLeaderOffsets(client: KafkaClient, topic: string, partitions: readonly number[], at: 'earliest' | 'latest' | { time: number }): Promise<Map<number, bigint>> {
  const out = new Map<number, bigint>();
  if (partitions.length === 0) return out;
  const opts = { topics: [topic], partitions: { [topic]: [...partitions] } };
  if (typeof at === 'object') {
    const res = await call<Awaited<ReturnType<KafkaClient['listOffsetsWithTimestamps']>>>((cb) => client.listOffsetsWithTimestamps({ ...opts, timestamp: BigInt(Math.max(0, Math.floor(at.time))) }, cb));
    for (const p of partitions) out.set(p, res.get(topic)?.get(p)?.offset ?? -1n);
    return out;
  }
  const timestamp = at === 'earliest' ? ListOffsetTimestamps.EARLIEST : ListOffsetTimestamps.LATEST;
  const res = await call<Awaited<ReturnType<KafkaClient['listOffsets']>>>((cb) => client.listOffsets({ ...opts, timestamp }, cb));
  for (const p of partitions) out.set(p, res.get(topic)?.[p] ?? -1n);
  return out;
}

export function checkPosition(p: StartPosition): void {
  if (p === 'earliest' || p === 'latest') return;
  if (typeof p === 'object' && p !== null) {
    if ('offset' in p && Number.isInteger(p.offset)) return;
    if ('time' in p && Number.isFinite(p.time)) return;
  }
  throw new RangeError(`invalid start position ${JSON.stringify(p)}`);
}

/** The next offset to read for a start position, per partition, within [first kept, end]. */
export async function resolvePositions(client: KafkaClient, topic: string, partitions: readonly number[], position: StartPosition): Promise<Map<number, bigint>> {
  checkPosition(position);
  const [earliest, latest] = await Promise.all([listOffsets(client, topic, partitions, 'earliest'), listOffsets(client, topic, partitions, 'latest')]);
  const out = new Map<number, bigint>();
  const byTime = typeof position === 'object' && 'time' in position ? await listOffsets(client, topic, partitions, { time: position.time }) : undefined;
  for (const p of partitions) {
    const lo = earliest.get(p) ?? 0n;
    const hi = latest.get(p) ?? lo;
    let at: bigint;
    if (position === 'earliest') at = lo;
    else if (position === 'latest') at = hi;
    else if (byTime) at = (byTime.get(p) ?? -1n) < 0n ? hi : byTime.get(p)!;
    else at = BigInt((position as { offset: number }).offset);
    out.set(p, at < lo ? lo : at > hi ? hi : at);
  }
  return out;
}

/**
 * Records of one partition in [from, until), at most `limit`, reading forward; `until` defaults to the end at the time
 * of the first fetch. Skips what retention deleted meanwhile.
 */
export async function readRange(client: KafkaClient, topic: string, partition: number, from: bigint, limit: number, until?: bigint): Promise<DecodedRecord[]> {
  const out: DecodedRecord[] = [];
  let pos = from;
  let end = until;
  while (out.length < limit) {
    if (end !== undefined && pos >= end) break;
    const got = (await fetchPartitions(client, topic, new Map([[partition, pos]]), { maxWaitMs: 0 })).get(partition);
    if (!got) break;
    end ??= got.highWatermark;
    if (got.outOfRange) {
      if (pos < got.logStartOffset || got.logStartOffset < 0n) {
        const [first] = (await listOffsets(client, topic, [partition], 'earliest')).values();
        if (first === undefined || first <= pos) break;
        pos = first;
        continue;
      }
      break;
    }
    for (const r of got.records) {
      if (out.length >= limit || (end !== undefined && BigInt(r.record.offset) >= end)) break;
      out.push(r);
    }
    if (got.next <= pos) break;
    pos = got.next;
  }
  return out;
}
