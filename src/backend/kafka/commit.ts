/**
 * Committing a member's offsets with the group's generation, so that the broker fences it.
 *
 * The client's own commit() is not used: when the broker answers ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS it
 * rejoins the group and sends the commit again under the new generation, whether or not the member still owns the
 * partitions, which would let a member that lost a partition move its successor's position. Here the OffsetCommit
 * request carries the generation and member id of the assignment the records came from, and a refusal is reported as
 * such (the caller raises DW_STREAM_NOT_OWNER and rereads from the committed offsets under the new assignment).
 */
import { kGetApi, kGetConnection, type API, type Base, type Connection, type Consumer } from '@platformatic/kafka';
import { call, GENERATION_ERRORS, kafkaErrorIs, withRetry } from './client.ts';

type OffsetCommitArgs = [
  groupId: string,
  generationIdOrMemberEpoch: number,
  memberId: string,
  groupInstanceId: string | null,
  topics: { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata?: string | null }[] }[],
];

export interface Generation {
  generationId: number;
  memberId: string;
}

/**
 * Commits `next` (per partition, the next offset to read: Kafka's meaning of a committed offset) under `generation`.
 * Resolves false when the broker refuses it because the group has moved to another generation.
 *
 * The request goes over `via`'s connection to the coordinator, not the member's own: a broker handles one request
 * per connection at a time, and the member keeps a long-poll Fetch in flight on its connection to each leader, so a
 * commit sent behind one waited for it (up to its 500 ms wait when no record came: 197 ms per archive flush on
 * average, measured). The Java consumer keeps its coordinator connection apart for the same reason.
 */
export async function commitFenced(client: Consumer, via: Base, topic: string, generation: Generation, next: ReadonlyMap<number, bigint>, retryForMs: number, closed: () => boolean): Promise<boolean> {
  if (next.size === 0) return true;
  const topics: OffsetCommitArgs[4] = [{
    name: topic,
    partitions: [...next].map(([partitionIndex, committedOffset]) => ({ partitionIndex, committedOffset, committedLeaderEpoch: -1, committedMetadata: null })),
  }];
  try {
    await withRetry('commit', retryForMs, closed, async () => {
      const coordinator = await call<number>((cb) => client.findGroupCoordinator(cb));
      const md = await call<Awaited<ReturnType<Consumer['metadata']>>>((cb) => client.metadata({ topics: [topic] }, cb));
      const broker = md.brokers.get(coordinator);
      if (!broker) throw new Error(`group coordinator ${coordinator} is not in the cluster metadata`);
      const connection = await call<Connection>((cb) => via[kGetConnection](broker, cb));
      const api = await call<API<OffsetCommitArgs, unknown>>((cb) => via[kGetApi]<OffsetCommitArgs, unknown>('OffsetCommit', cb));
      await call((cb) => api(connection, client.groupId, generation.generationId, generation.memberId, null, topics, cb));
    });
    return true;
  } catch (e) {
    if (kafkaErrorIs(e, ...GENERATION_ERRORS)) return false;
    throw e;
  }
}
