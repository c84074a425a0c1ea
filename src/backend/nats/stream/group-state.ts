/**
 * A member's live view of its group, kept by a KV watch on the group's keys:
 * - `<topic>.<tenant>.<group>.m.<member>`: a member's lease `{ id, expiresAt }`;
 * - `<topic>.<tenant>.<group>.p.<partition>`: `{ owner, epoch, committed }` of a partition.
 * Every change by any member reaches every other member at once (no polling of the bucket). The member's own writes
 * are applied to the view as soon as the server acknowledged them, with their revision, so the view never goes back.
 */
import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from '../../../util/log.ts';

export interface MemberEntry {
  id: string;
  expiresAt: number;
  rev: number;
}

export interface PartitionEntry {
  owner: string | null;
  /** Fencing token: increased each time the partition is taken. */
  epoch: number;
  /** Last committed offset; -1 = start of the partition. */
  committed: number;
  rev: number;
}

export type PartitionValue = Omit<PartitionEntry, 'rev'>;
export type MemberValue = Omit<MemberEntry, 'rev'>;

export class GroupState {
  readonly members = new Map<string, MemberEntry>();
  readonly partitions = new Map<number, PartitionEntry>();
  /** Increased by every change: members compare it to know they must rebalance. */
  version = 0;
  private readonly revisions = new Map<string, number>();
  private maxRevision = 0;
  private revisionWaiters: { rev: number; resolve: () => void }[] = [];
  private watcher: QueuedIterator<KvWatchEntry> | undefined;
  private stopped = false;

  constructor(private readonly kv: KV, readonly prefix: string, private readonly onChange: () => void, private readonly logger: Logger) {}

  async start(): Promise<void> {
    await this.watch(0);
  }

  stop(): void {
    this.stopped = true;
    this.watcher?.stop();
    for (const w of this.revisionWaiters) w.resolve();
    this.revisionWaiters = [];
  }

  /** Resolves once the watch has delivered everything up to `rev` (e.g. this member's own join). */
  waitForRevision(rev: number, timeoutMs: number): Promise<boolean> {
    if (this.maxRevision >= rev || this.stopped) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.revisionWaiters = this.revisionWaiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = { rev, resolve: () => { clearTimeout(timer); resolve(true); } };
      this.revisionWaiters.push(waiter);
    });
  }

  /** Applies a value this member wrote (or read) with its revision; older revisions than known are ignored. */
  apply(key: string, value: MemberValue | PartitionValue | null, rev: number): void {
    const known = this.revisions.get(key) ?? 0;
    if (rev <= known) return;
    this.revisions.set(key, rev);
    const local = key.slice(this.prefix.length + 1);
    if (local.startsWith('m.')) {
      if (value === null) this.members.delete(local.slice(2));
      else this.members.set(local.slice(2), { ...(value as MemberValue), rev });
    } else if (local.startsWith('p.')) {
      const p = Number(local.slice(2));
      if (value === null) this.partitions.delete(p);
      else this.partitions.set(p, { ...(value as PartitionValue), rev });
    }
    this.version++;
    this.onChange();
  }

  /** Ids of members whose lease has not expired, sorted (every member computes the same split from it). */
  liveMembers(now: number): string[] {
    const ids: string[] = [];
    for (const m of this.members.values()) if (m.expiresAt >= now) ids.push(m.id);
    return ids.sort();
  }

  private async watch(fromRevision: number): Promise<void> {
    const iter = await this.kv.watch({ key: `${this.prefix}.>`, ...(fromRevision > 0 ? { resumeFromRevision: fromRevision } : {}) });
    this.watcher = iter;
    void this.run(iter);
  }

  private async run(iter: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const e of iter) {
        let value: MemberValue | PartitionValue | null = null;
        if (e.operation === 'PUT') {
          try {
            value = e.json<MemberValue | PartitionValue>();
          } catch {
            this.logger.warn({ key: e.key }, 'stream group: ignoring a malformed KV entry');
            continue;
          }
        }
        this.apply(e.key, value, e.revision);
        if (e.revision > this.maxRevision) {
          this.maxRevision = e.revision;
          const ready = this.revisionWaiters.filter((w) => w.rev <= e.revision);
          this.revisionWaiters = this.revisionWaiters.filter((w) => w.rev > e.revision);
          for (const w of ready) w.resolve();
        }
      }
    } catch (e) {
      this.logger.warn({ err: e, prefix: this.prefix }, 'stream group: KV watch failed');
    }
    // The watch ends only when stopped or on a connection failure: resume after what was seen.
    this.restartLater();
  }

  private restartLater(): void {
    if (this.stopped) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.watch(this.maxRevision + 1).catch((e: unknown) => {
        this.logger.warn({ err: e }, 'stream group: KV watch restart failed');
        this.restartLater();
      });
    }, 1000).unref();
  }
}
