/**
 * Positions in a partition: offsets are stream sequences, so a start position becomes "the first sequence to read"
 * (records of the partition at or after it). Counting and time lookups use short-lived ephemeral consumers: their
 * creation answer carries the server's count of matching messages (`num_pending`) and the sequence they start after.
 */
import { AckPolicy, DeliverPolicy, type ConsumerConfig, type ConsumerInfo, type JetStreamManager } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { StartPosition } from '../../../stream/types.ts';
import { API_CODE, apiCode } from './retry.ts';
import { firstOffset, offsetOf } from './packing.ts';
import type { TopicMeta } from './topics.ts';

/** Probes are deleted right after use; this only cleans up after a crash between create and delete. */
const PROBE_INACTIVE_MS = 30_000;

export function checkPosition(position: StartPosition): void {
  if (position === 'earliest' || position === 'latest') return;
  if (typeof position === 'object' && position !== null) {
    if ('offset' in position) {
      if (!Number.isFinite(position.offset)) throw new RangeError(`offset must be a finite number, got ${position.offset}`);
      return;
    }
    if ('time' in position && Number.isFinite(position.time)) return;
  }
  throw new RangeError('start position must be earliest, latest, {offset} or {time}');
}

/** Deliver policy of a consumer reading from sequence `start` (1 = everything retained). */
export function startConfig(start: number): Pick<ConsumerConfig, 'deliver_policy' | 'opt_start_seq'> {
  return start <= 1 ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start };
}

export class Positions {
  constructor(private readonly jsm: JetStreamManager) {}

  /** Highest sequence matching the filter, or -1. */
  async lastSeq(stream: string, filter: string): Promise<number> {
    try {
      const m = await this.jsm.streams.getMessage(stream, { last_by_subj: filter });
      return m ? m.seq : -1;
    } catch (e) {
      if (apiCode(e) === API_CODE.noMessageFound) return -1;
      throw e;
    }
  }

  /** First sequence to read for a start position in the records matching `filter`. */
  async startSeq(stream: string, filter: string, position: StartPosition): Promise<number> {
    checkPosition(position);
    if (position === 'earliest') return 1;
    if (position === 'latest') return (await this.lastSeq(stream, filter)) + 1 || 1;
    if ('offset' in position) return Math.max(1, Math.ceil(position.offset));
    const info = await this.probe(stream, filter, { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(position.time).toISOString() });
    // The server starts the consumer at the first matching message at or after the time; delivered is the one before.
    return info.delivered.stream_seq + 1;
  }

  /**
   * First offset to read for a start position (packing.ts): an offset position is kept as it is (the reader drops
   * the records before it in the message that holds it); the others resolve to a message, whose first record it is.
   */
  async startOffset(meta: Pick<TopicMeta, 'stream' | 'packed'>, filter: string, position: StartPosition): Promise<number> {
    checkPosition(position);
    if (typeof position === 'object' && 'offset' in position) return Math.max(firstOffset(meta), Math.ceil(position.offset));
    return offsetOf(meta, await this.startSeq(meta.stream, filter, position));
  }

  /** Number of messages matching `filter` with a sequence >= start. */
  async countFrom(stream: string, filter: string, start: number): Promise<number> {
    const info = await this.probe(stream, filter, startConfig(start));
    return info.num_pending;
  }

  /**
   * Creates and deletes an ephemeral consumer, returning its creation info. Memory storage and one replica: it
   * holds no state worth keeping.
   */
  async probe(stream: string, filter: string, cfg: Partial<ConsumerConfig>): Promise<ConsumerInfo> {
    const info = await this.jsm.consumers.add(stream, {
      ...cfg,
      filter_subject: filter,
      ack_policy: AckPolicy.None,
      mem_storage: true,
      num_replicas: 1,
      inactive_threshold: nanos(PROBE_INACTIVE_MS),
    });
    this.jsm.consumers.delete(stream, info.name).catch(() => { /* expires by itself (inactive_threshold) */ });
    return info;
  }
}
