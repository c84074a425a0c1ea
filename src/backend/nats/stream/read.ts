/**
 * `read()`: records without a group, through an ephemeral consumer. Its creation answer says how many messages match
 * (`num_pending`), so the fetch asks for exactly min(limit, pending) and never waits for records that do not exist.
 * One consumer reads all partitions of the tenant at once: stream order is append order, which is the "merged by
 * append time" order of the interface.
 */
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ReadOptions, StreamRecord } from '../../../stream/types.ts';
import { partitionFilter, tenantFilter } from './names.ts';
import { checkPosition, startConfig } from './positions.ts';
import { firstOffset, msgRecords, seqOf } from './packing.ts';
import type { TopicMeta } from './topics.ts';

const DEFAULT_READ_LIMIT = 1000;
/** Messages per fetch on packed topics (each holds up to 4,096 records): the fetch stops soon after `limit`. */
const PACKED_FETCH = 16;
/** A fetch that gets nothing for this long means the remaining matches were deleted (retention) meanwhile. */
const FETCH_EXPIRES_MS = 2000;

export interface ReadContext {
  js: JetStreamClient;
  jsm: JetStreamManager;
  meta: TopicMeta;
  tenant: string;
  /** Replicas of the streams: the read's consumer gets as many (see below). */
  replicas: number;
}

export async function readRecords(ctx: ReadContext, opts: ReadOptions): Promise<StreamRecord[]> {
  const { meta } = ctx;
  const limit = opts.limit ?? DEFAULT_READ_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  if (opts.partition !== undefined && (!Number.isInteger(opts.partition) || opts.partition < 0 || opts.partition >= meta.partitions)) {
    throw new RangeError(`partition must be in 0..${meta.partitions - 1}, got ${opts.partition}`);
  }
  const from = opts.from ?? 'earliest';
  checkPosition(from);
  if (limit === 0 || from === 'latest') return [];
  const filter = opts.partition === undefined ? tenantFilter(meta.name, ctx.tenant) : partitionFilter(meta.name, ctx.tenant, opts.partition);
  let minOffset = firstOffset(meta);
  let start: Partial<ConsumerConfig>;
  if (from === 'earliest') start = { deliver_policy: DeliverPolicy.All };
  else if ('offset' in from) {
    minOffset = Math.max(minOffset, Math.ceil(from.offset));
    start = startConfig(seqOf(meta, minOffset));
  } else start = { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(from.time).toISOString() };

  const info = await ctx.jsm.consumers.add(meta.stream, {
    ...start,
    filter_subject: filter,
    ack_policy: AckPolicy.None,
    mem_storage: true,
    // As many replicas as the stream: an R1 consumer of an R3 stream can be placed on a peer that just died, and its
    // creation then times out until the cluster notices (seen for over 30 s after a leader kill -9 under load).
    // Replicated, it is created as soon as a majority of the stream's peers answers.
    num_replicas: ctx.replicas,
    inactive_threshold: nanos(30_000),
  });
  try {
    // Messages left to read: one per record, or on packed topics one per batch of records.
    let left = info.num_pending;
    const out: StreamRecord[] = [];
    const consumer = ctx.js.consumers.getConsumerFromInfo(info);
    while (out.length < limit && left > 0) {
      const ask = meta.packed ? Math.min(left, PACKED_FETCH) : Math.min(left, limit - out.length);
      const batch = await consumer.fetch({ max_messages: ask, expires: FETCH_EXPIRES_MS });
      let got = 0;
      for await (const m of batch) {
        got++;
        // A start beyond the end is clamped by the server to the next sequence: later records may be below the offset
        // asked; on packed topics the first message may also hold records before it.
        msgRecords(meta, m, minOffset, out);
      }
      left -= got;
      if (got === 0) break;
    }
    return out.slice(0, limit);
  } finally {
    ctx.jsm.consumers.delete(meta.stream, info.name).catch(() => { /* expires by itself (inactive_threshold) */ });
  }
}
