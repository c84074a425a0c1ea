/**
 * Group membership and partition ownership in a JetStream KV bucket: every change is a compare-and-set on one key
 * (the revision the member last saw), so two members never both take a partition, and a commit by a member that
 * lost its partition (another member took it: new epoch) is refused. Leases are wall-clock expiry times written by
 * the member itself, like the embedded log's (clocks must agree to well within a session timeout).
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from '../../../util/log.ts';
import type { GroupState, MemberValue, PartitionEntry, PartitionValue } from './group-state.ts';
import { memberKey, partitionKey } from './names.ts';
import { lostRace } from './retry.ts';

const enc = new TextEncoder();
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));

export class GroupMember {
  private readonly key: string;

  constructor(
    private readonly kv: KV,
    private readonly state: GroupState,
    readonly memberId: string,
    private readonly leaseMs: number,
    private readonly logger: Logger,
  ) {
    this.key = memberKey(state.prefix, memberId);
  }

  /** Writes this member's lease and waits until the watch has caught up with it (the view then holds the whole group). */
  async join(now: number, timeoutMs: number): Promise<void> {
    const rev = await this.renew(now);
    if (!(await this.state.waitForRevision(rev, timeoutMs))) throw new Error(`the group's KV watch did not catch up within ${timeoutMs} ms`);
  }

  async renew(now: number): Promise<number> {
    const value: MemberValue = { id: this.memberId, expiresAt: now + this.leaseMs };
    const rev = await this.kv.put(this.key, json(value));
    this.state.apply(this.key, value, rev);
    return rev;
  }

  /**
   * Takes a free partition: its epoch goes up by one. A partition never taken gets `initialCommitted` (the group's
   * start position minus one), recorded in the same write so a later owner does not skip records.
   * Returns undefined when another member changed the partition first.
   */
  async take(partition: number, current: PartitionEntry | undefined, initialCommitted: () => Promise<number>): Promise<PartitionEntry | undefined> {
    const key = partitionKey(this.state.prefix, partition);
    const value: PartitionValue = current
      ? { owner: this.memberId, epoch: current.epoch + 1, committed: current.committed }
      : { owner: this.memberId, epoch: 1, committed: await initialCommitted() };
    try {
      const rev = current ? await this.kv.update(key, json(value), current.rev) : await this.kv.create(key, json(value));
      this.state.apply(key, value, rev);
      return { ...value, rev };
    } catch (e) {
      if (lostRace(e)) return undefined;
      throw e;
    }
  }

  /** Gives a partition up (above fair share, or leaving); keeps its committed offset. False if it was not ours any more. */
  async release(partition: number, epoch: number): Promise<boolean> {
    return this.write(partition, epoch, (cur) => ({ owner: null, epoch: cur.epoch, committed: cur.committed }));
  }

  /** Stores the committed offset if this member still owns the partition with this epoch; false = fenced. */
  async commit(partition: number, epoch: number, offset: number): Promise<boolean> {
    return this.write(partition, epoch, (cur) => ({ owner: this.memberId, epoch: cur.epoch, committed: offset }));
  }

  /** Leaves: partitions are released (free at once for the others) and the lease is deleted. */
  async leave(owned: Map<number, number>): Promise<void> {
    await Promise.all([...owned].map(([p, epoch]) => this.release(p, epoch).catch((e: unknown) => {
      this.logger.warn({ err: e, partition: p }, 'stream group: releasing a partition on close failed (it frees itself when the lease expires)');
    })));
    const me = this.state.members.get(this.key.slice(this.state.prefix.length + 3));
    await this.kv.delete(this.key, me ? { previousSeq: me.rev } : {}).catch(() => undefined);
  }

  /** Deletes leases that expired more than a session ago (tidiness: expired leases are ignored anyway). */
  async reap(now: number): Promise<void> {
    for (const [token, m] of this.state.members) {
      if (m.expiresAt >= now - this.leaseMs) continue;
      await this.kv.delete(`${this.state.prefix}.m.${token}`, { previousSeq: m.rev }).catch(() => undefined);
    }
  }

  /** Compare-and-set of a partition entry we own with `epoch`; re-reads once per lost race in case our view was stale. */
  private async write(partition: number, epoch: number, next: (cur: PartitionEntry) => PartitionValue): Promise<boolean> {
    const key = partitionKey(this.state.prefix, partition);
    let cur = this.state.partitions.get(partition);
    for (let attempt = 0; attempt < 5; attempt++) {
      if (!cur || cur.owner !== this.memberId || cur.epoch !== epoch) return false;
      const value = next(cur);
      try {
        const rev = await this.kv.update(key, json(value), cur.rev);
        this.state.apply(key, value, rev);
        return true;
      } catch (e) {
        if (!lostRace(e)) throw e;
        const fresh = await this.kv.get(key);
        if (!fresh || fresh.operation !== 'PUT') return false;
        const v = fresh.json<PartitionValue>();
        this.state.apply(key, v, fresh.revision);
        cur = { ...v, rev: fresh.revision };
      }
    }
    return false;
  }
}
