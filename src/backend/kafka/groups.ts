/**
 * Consumer groups as the broker keeps them: listing a topic's groups, their lag, and the life of transient groups.
 * A transient group is deleted (DeleteGroups: its committed offsets go with it) when its last member leaves, and a
 * transient group whose members all died without leaving is deleted when another transient member of the topic
 * joins, once the broker has expired their sessions (the group is then Empty).
 */
import type { Admin, GroupBase, ListConsumerGroupOffsetsGroup } from '@platformatic/kafka';
import type { Logger } from '../../util/log.ts';
import type { PartitionLag } from '../../stream/types.ts';
import type { TopicMeta } from './catalog.ts';
import { call, errorText, kafkaErrorIs } from './client.ts';
import { listOffsets, type KafkaClient } from './log.ts';
import { groupId, parseGroupId } from './names.ts';

export interface TopicGroup {
  id: string;
  group: string;
  transient: boolean;
  state: string;
}

/** Groups of the tenant's topic that the broker knows (members or committed offsets), dead ones aside. */
export async function topicGroups(admin: Admin, tenant: string, topic: string): Promise<TopicGroup[]> {
  const all = await call<Map<string, GroupBase>>((cb) => admin.listGroups({}, cb));
  const out: TopicGroup[] = [];
  for (const g of all.values()) {
    const parsed = parseGroupId(tenant, topic, g.id);
    if (!parsed || /^dead$/i.test(String(g.state))) continue;
    out.push({ id: g.id, ...parsed, state: String(g.state) });
  }
  return out;
}

/** Deletes the group if it has no member left (another member may have joined meanwhile: then it stays). */
export async function deleteGroupIfEmpty(admin: Admin, id: string): Promise<void> {
  const described = await call<Awaited<ReturnType<Admin['describeGroups']>>>((cb) => admin.describeGroups({ groups: [id] }, cb));
  const g = described.get(id);
  if (!g || g.members.size > 0 || !/^empty$/i.test(String(g.state))) return;
  try {
    await call((cb) => admin.deleteGroups({ groups: [id] }, cb));
  } catch (e) {
    if (!kafkaErrorIs(e, 'NON_EMPTY_GROUP', 'GROUP_ID_NOT_FOUND')) throw e;
  }
}

/** Deletes the transient groups of the topic that have no member left (best effort: logged, not thrown). */
export async function dropDeadTransientGroups(admin: Admin, tenant: string, topic: string, except: string, logger: Logger): Promise<void> {
  try {
    for (const g of await topicGroups(admin, tenant, topic)) {
      if (!g.transient || g.id === except || !/^empty$/i.test(g.state)) continue;
      await deleteGroupIfEmpty(admin, g.id);
      logger.debug({ group: g.id }, 'stream: removed a transient group left by a dead process');
    }
  } catch (err) {
    logger.warn({ err: errorText(err), topic }, 'stream: removing dead transient groups failed; the next transient member tries again');
  }
}

/**
 * Per-partition lag of a group (its durable id, or its transient id if only that one has positions). Kafka's committed
 * offset is the next offset to read; the Stream model's is the last processed one, hence the -1. Records deleted by
 * retention after the committed offset are no longer lag.
 */
export async function groupLag(admin: Admin, reader: KafkaClient, meta: TopicMeta, tenant: string, group: string): Promise<PartitionLag[]> {
  const partitions = [...Array(meta.partitions).keys()];
  const ids = [groupId(tenant, meta.name, group, false), groupId(tenant, meta.name, group, true)];
  const [committedByGroup, earliest, latest] = await Promise.all([
    call<ListConsumerGroupOffsetsGroup[]>((cb) => admin.listConsumerGroupOffsets({ groups: ids.map((id) => ({ groupId: id, topics: [{ name: meta.kafka, partitionIndexes: partitions }] })) }, cb)),
    listOffsets(reader, meta.kafka, partitions, 'earliest'),
    listOffsets(reader, meta.kafka, partitions, 'latest'),
  ]);
  const committedOf = (id: string): Map<number, number> => {
    const m = new Map<number, number>();
    for (const t of committedByGroup.find((g) => g.groupId === id)?.topics ?? []) {
      if (t.name !== meta.kafka) continue;
      for (const p of t.partitions) if (p.committedOffset >= 0n) m.set(p.partitionIndex, Number(p.committedOffset) - 1);
    }
    return m;
  };
  const durable = committedOf(ids[0]!);
  const committed = durable.size > 0 ? durable : committedOf(ids[1]!);
  return partitions.map((partition) => {
    const c = committed.get(partition) ?? -1;
    const end = Number(latest.get(partition) ?? 0n) - 1;
    const firstKept = Number(earliest.get(partition) ?? 0n);
    return { partition, committed: c, end, lag: end < 0 ? 0 : Math.max(0, end - Math.max(c, firstKept - 1)) };
  });
}
