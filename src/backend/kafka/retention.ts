/**
 * enforceRetention(): Kafka applies retention.ms and retention.bytes by itself (topicConfigs in catalog.ts), but a
 * segment at a time and on its own schedule (log.retention.check.interval.ms). This applies the policy now and to the
 * record, with DeleteRecords (which moves the partition's first offset): by age from the offset of `now - maxAgeMs`
 * (ListOffsets by time, exact since the timestamps are append times), by size from the newest records whose values
 * fit in the topic's maxBytes shared by its partitions (as Kafka's own retention.bytes is per partition). The size pass
 * reads the kept tail of each partition (values are counted, not the compressed log), so it costs about maxBytes of
 * reading; Kafka's periodic retention needs no such pass.
 */
import type { Admin } from '@platformatic/kafka';
import type { TopicMeta } from './catalog.ts';
import { call } from './client.ts';
import { listOffsets, readRange, type KafkaClient } from './log.ts';

/** First offset to keep so that the partition's values fit in `budget` bytes (the newest record is always kept). */
async function keepFromBySize(reader: KafkaClient, topic: string, partition: number, first: bigint, end: bigint, budget: number): Promise<bigint> {
  let window = 256n;
  for (;;) {
    const from = end - window > first ? end - window : first;
    const records = await readRange(reader, topic, partition, from, Number.MAX_SAFE_INTEGER, end);
    let total = 0;
    for (let i = records.length - 1; i >= 0; i--) {
      total += records[i]!.record.value.byteLength;
      if (total > budget && i < records.length - 1) return BigInt(records[i + 1]!.record.offset);
    }
    if (from <= first) return first;
    window *= 4n;
  }
}

export async function applyRetention(admin: Admin, reader: KafkaClient, meta: TopicMeta, now: number): Promise<void> {
  const { maxAgeMs, maxBytes } = meta.retention;
  if (maxAgeMs === undefined && maxBytes === undefined) return;
  const partitions = [...Array(meta.partitions).keys()];
  const [earliest, latest] = await Promise.all([listOffsets(reader, meta.kafka, partitions, 'earliest'), listOffsets(reader, meta.kafka, partitions, 'latest')]);
  const byTime = maxAgeMs !== undefined ? await listOffsets(reader, meta.kafka, partitions, { time: now - maxAgeMs }) : undefined;
  const cuts: { partition: number; offset: bigint }[] = [];
  for (const p of partitions) {
    const first = earliest.get(p) ?? 0n;
    const end = latest.get(p) ?? 0n;
    if (end <= first) continue;
    let cut = first;
    if (byTime) {
      const t = byTime.get(p) ?? -1n;
      cut = t < 0n ? end : t;
    }
    if (maxBytes !== undefined && cut < end) {
      const bySize = await keepFromBySize(reader, meta.kafka, p, cut, end, Math.floor(maxBytes / meta.partitions));
      if (bySize > cut) cut = bySize;
    }
    if (cut > first) cuts.push({ partition: p, offset: cut });
  }
  if (cuts.length > 0) await call((cb) => admin.deleteRecords({ topics: [{ name: meta.kafka, partitions: cuts }] }, cb));
}
