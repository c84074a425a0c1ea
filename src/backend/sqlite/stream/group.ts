import type Database from 'better-sqlite3';
import type { TopicMeta } from './catalog.ts';
import type { Db } from './schema.ts';

/** A partition this member owns, as recorded in the db when it was taken. */
export interface Ownership {
  partition: number;
  /** Fencing token: incremented each time the partition changes owner. */
  epoch: number;
  /** Committed offset of the group (-1 when none). */
  committed: number;
}

export interface MembershipView {
  generation: number;
  owned: Ownership[];
  /** Whether this call changed membership or ownership (other members should look). */
  changed: boolean;
}

/** Offset of the first record to read in a partition the group has never committed (from the consumer's start option). */
export type StartResolver = (partition: number) => number;

type Row = { partition: number; member_id: string | null; epoch: number; committed: number | null };

/**
 * Group membership with leases in the database, so that members in different processes agree without talking to each
 * other. Every change (join, leave, reap, release, take) runs in one short write transaction and bumps the group's
 * generation, which members compare on every poll to notice that they must rebalance.
 *
 * Fair share: with n live members sorted by id and P partitions, the i-th member's quota is floor(P/n), plus one for
 * the first P mod n members. Each member, when it rebalances, releases its highest partitions above its quota and
 * takes free ones (lowest first) up to it; partitions of a member whose lease expired are freed by whoever notices.
 * Nobody takes a partition from a live member: the owner gives it up itself, so ownership never overlaps while the
 * owner keeps its lease.
 */
export class GroupStore {
  private readonly s: Record<string, Database.Statement>;
  private readonly rebalanceTx: (meta: TopicMeta, group: string, member: string, now: number, leaseMs: number, startOf: StartResolver, transient: boolean) => MembershipView;
  private readonly commitTx: (meta: TopicMeta, group: string, member: string, positions: Map<number, { offset: number; epoch: number }>, now: number, leaseMs: number) => number[];
  private readonly leaveTx: (meta: TopicMeta, group: string, member: string) => void;

  constructor(db: Db) {
    const p = (sql: string) => db.prepare(sql);
    this.s = {
      insertGroup: p('INSERT OR IGNORE INTO groups (topic_id, grp, generation) VALUES (?, ?, 0)'),
      insertPartition: p('INSERT OR IGNORE INTO group_partitions (topic_id, grp, partition, member_id, epoch, committed) VALUES (?, ?, ?, NULL, 0, NULL)'),
      bump: p('UPDATE groups SET generation = generation + 1 WHERE topic_id = ? AND grp = ?'),
      generation: p('SELECT generation FROM groups WHERE topic_id = ? AND grp = ?').pluck(true),
      selectMember: p('SELECT expires_at FROM members WHERE topic_id = ? AND grp = ? AND member_id = ?').pluck(true),
      insertMember: p('INSERT INTO members (topic_id, grp, member_id, expires_at, joined_at) VALUES (?, ?, ?, ?, ?)'),
      renew: p('UPDATE members SET expires_at = ? WHERE topic_id = ? AND grp = ? AND member_id = ?'),
      expired: p('SELECT member_id FROM members WHERE topic_id = ? AND grp = ? AND expires_at < ?').pluck(true),
      deleteMember: p('DELETE FROM members WHERE topic_id = ? AND grp = ? AND member_id = ?'),
      freeOf: p('UPDATE group_partitions SET member_id = NULL WHERE topic_id = ? AND grp = ? AND member_id = ?'),
      live: p('SELECT member_id FROM members WHERE topic_id = ? AND grp = ? ORDER BY member_id').pluck(true),
      partitions: p('SELECT partition, member_id, epoch, committed FROM group_partitions WHERE topic_id = ? AND grp = ? ORDER BY partition'),
      release: p('UPDATE group_partitions SET member_id = NULL WHERE topic_id = ? AND grp = ? AND partition = ?'),
      take: p('UPDATE group_partitions SET member_id = ?, epoch = epoch + 1 WHERE topic_id = ? AND grp = ? AND partition = ?'),
      owner: p('SELECT member_id, epoch FROM group_partitions WHERE topic_id = ? AND grp = ? AND partition = ?').raw(true),
      setCommitted: p('UPDATE group_partitions SET committed = ? WHERE topic_id = ? AND grp = ? AND partition = ?'),
      committedOf: p('SELECT partition, committed FROM group_partitions WHERE topic_id = ? AND grp = ?'),
      markTransient: p('INSERT OR IGNORE INTO transient_groups (topic_id, grp) VALUES (?, ?)'),
      isTransient: p('SELECT 1 FROM transient_groups WHERE topic_id = ? AND grp = ?').pluck(true),
      anyMember: p('SELECT 1 FROM members WHERE topic_id = ? AND grp = ? LIMIT 1').pluck(true),
      deadTransient: p(`SELECT grp FROM transient_groups tg WHERE topic_id = ? AND grp <> ?
        AND NOT EXISTS (SELECT 1 FROM members m WHERE m.topic_id = tg.topic_id AND m.grp = tg.grp AND m.expires_at >= ?)`).pluck(true),
      dropGroup: p('DELETE FROM groups WHERE topic_id = ? AND grp = ?'),
      dropPartitions: p('DELETE FROM group_partitions WHERE topic_id = ? AND grp = ?'),
      dropMembers: p('DELETE FROM members WHERE topic_id = ? AND grp = ?'),
      dropTransient: p('DELETE FROM transient_groups WHERE topic_id = ? AND grp = ?'),
      groups: p('SELECT grp FROM groups WHERE topic_id = ? ORDER BY grp').pluck(true),
    };
    this.rebalanceTx = db.transaction(this.rebalanceIn.bind(this)).immediate as never;
    this.commitTx = db.transaction(this.commitIn.bind(this)).immediate as never;
    this.leaveTx = db.transaction(this.leaveIn.bind(this)).immediate as never;
  }

  /**
   * Joins or renews the lease, reaps expired members, and moves this member towards its fair share. A partition taken
   * that the group never committed gets its start position recorded as the committed offset (start - 1) in the same
   * transaction: the group's start is fixed once, so a later owner does not skip records (as 'latest' would).
   */
  rebalance(meta: TopicMeta, group: string, member: string, now: number, leaseMs: number, startOf: StartResolver, transient = false): MembershipView {
    return this.rebalanceTx(meta, group, member, now, leaseMs, startOf, transient);
  }

  /** Groups with state on the topic, by name. */
  groups(meta: TopicMeta): string[] {
    return this.s.groups!.all(meta.id) as string[];
  }

  /** Current generation of the group (cheap read; -1 when the group does not exist). */
  generation(meta: TopicMeta, group: string): number {
    return (this.s.generation!.get(meta.id, group) as number | undefined) ?? -1;
  }

  /**
   * Stores committed offsets if this member still owns every partition with the epoch it knows (all or nothing);
   * returns the partitions it does not own (nothing was written then). Renews the lease on the way.
   */
  commit(meta: TopicMeta, group: string, member: string, positions: Map<number, { offset: number; epoch: number }>, now: number, leaseMs: number): number[] {
    return this.commitTx(meta, group, member, positions, now, leaseMs);
  }

  /** Leaves the group: its partitions are free at once. */
  leave(meta: TopicMeta, group: string, member: string): void {
    this.leaveTx(meta, group, member);
  }

  /** Live members and the owner of each partition (inspection and tests). */
  describe(meta: TopicMeta, group: string): { members: string[]; owners: (string | null)[] } {
    const owners = new Array<string | null>(meta.partitions).fill(null);
    for (const r of this.s.partitions!.all(meta.id, group) as Row[]) if (r.partition < owners.length) owners[r.partition] = r.member_id;
    return { members: this.s.live!.all(meta.id, group) as string[], owners };
  }

  /** Committed offset per partition (-1 when none, or when the group does not exist). */
  committed(meta: TopicMeta, group: string): number[] {
    const out = new Array<number>(meta.partitions).fill(-1);
    for (const r of this.s.committedOf!.all(meta.id, group) as { partition: number; committed: number | null }[]) {
      if (r.partition < out.length) out[r.partition] = r.committed ?? -1;
    }
    return out;
  }

  private rebalanceIn(meta: TopicMeta, group: string, member: string, now: number, leaseMs: number, startOf: StartResolver, transient: boolean): MembershipView {
    const s = this.s;
    const t = meta.id;
    let changed = false;
    if (s.insertGroup!.run(t, group).changes > 0) {
      for (let p = 0; p < meta.partitions; p++) s.insertPartition!.run(t, group, p);
      if (transient) {
        s.markTransient!.run(t, group);
        // A new transient group (a process starting) removes those whose members all died without leaving.
        for (const dead of s.deadTransient!.all(t, group, now) as string[]) this.drop(t, dead);
      }
    }
    if (s.selectMember!.get(t, group, member) === undefined) {
      s.insertMember!.run(t, group, member, now + leaseMs, now);
      changed = true;
    } else {
      s.renew!.run(now + leaseMs, t, group, member);
    }
    for (const dead of s.expired!.all(t, group, now) as string[]) {
      s.deleteMember!.run(t, group, dead);
      s.freeOf!.run(t, group, dead);
      changed = true;
    }
    const live = s.live!.all(t, group) as string[];
    const rows = s.partitions!.all(t, group) as Row[];
    const index = live.indexOf(member);
    const n = live.length;
    const quota = Math.floor(meta.partitions / n) + (index < meta.partitions % n ? 1 : 0);
    const mine = rows.filter((r) => r.member_id === member);
    if (mine.length > quota) {
      for (const r of mine.splice(quota)) {
        s.release!.run(t, group, r.partition);
        changed = true;
      }
    } else if (mine.length < quota) {
      for (const r of rows) {
        if (mine.length >= quota) break;
        if (r.member_id !== null) continue;
        s.take!.run(member, t, group, r.partition);
        r.member_id = member;
        r.epoch += 1;
        if (r.committed === null) {
          r.committed = startOf(r.partition) - 1;
          s.setCommitted!.run(r.committed, t, group, r.partition);
        }
        mine.push(r);
        changed = true;
      }
    }
    if (changed) s.bump!.run(t, group);
    return {
      generation: s.generation!.get(t, group) as number,
      owned: mine.map((r) => ({ partition: r.partition, epoch: r.epoch, committed: r.committed ?? -1 })).sort((a, b) => a.partition - b.partition),
      changed,
    };
  }

  private commitIn(meta: TopicMeta, group: string, member: string, positions: Map<number, { offset: number; epoch: number }>, now: number, leaseMs: number): number[] {
    const s = this.s;
    const notOwned: number[] = [];
    for (const [partition, pos] of positions) {
      const row = s.owner!.get(meta.id, group, partition) as [string | null, number] | undefined;
      if (!row || row[0] !== member || row[1] !== pos.epoch) notOwned.push(partition);
    }
    if (notOwned.length > 0) return notOwned;
    for (const [partition, pos] of positions) s.setCommitted!.run(pos.offset, meta.id, group, partition);
    s.renew!.run(now + leaseMs, meta.id, group, member);
    return notOwned;
  }

  private leaveIn(meta: TopicMeta, group: string, member: string): void {
    const s = this.s;
    const gone = s.deleteMember!.run(meta.id, group, member).changes;
    const freed = s.freeOf!.run(meta.id, group, member).changes;
    if (s.isTransient!.get(meta.id, group) !== undefined && s.anyMember!.get(meta.id, group) === undefined) return this.drop(meta.id, group);
    if (gone + freed > 0) s.bump!.run(meta.id, group);
  }

  /** Deletes every row of a group. */
  private drop(topicId: number, group: string): void {
    for (const st of ['dropPartitions', 'dropMembers', 'dropTransient', 'dropGroup']) this.s[st]!.run(topicId, group);
  }
}
