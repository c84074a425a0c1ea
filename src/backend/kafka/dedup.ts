/**
 * De-duplication by record id (OutgoingRecord.id) within a topic's duplicate window. Kafka's idempotent producer only
 * drops its own retries; ids seen before are this module's job.
 *
 * Design: the id travels in the record (header `~id`, records.ts), so the log itself is the truth. For each
 * partition this process publishes ids to, it keeps an index id -> (offset, append time) of the records of the
 * window, built from the log on first use (from the offset of `now - window` to the end) and, before every append,
 * caught up with what anyone appended since (a ListOffsets request; the gap, if any, is read). Appends of one topic
 * are serialised within the process (publish.ts), so the check and the append cannot interleave here.
 *
 * Guarantee: a record whose id was appended to the same partition within the window is acknowledged as a duplicate
 * (with the first record's partition and offset) and not appended, whether the earlier record came from this process,
 * from another process, or from before a restart, provided that earlier append was acknowledged before this publish
 * started its check. Two processes publishing the same id at the same moment (neither append visible to the other's
 * check) can both append it: Kafka has no conditional append to close that gap short of one transactional writer per
 * partition. Ids are per partition: the same id under another key (another partition) is not a duplicate; report ids
 * always come with their drone's key.
 */
import { IdWindow } from '../../stream/id-window.ts';

export type { Seen } from '../../stream/id-window.ts';

/** The shared id window (src/stream/id-window.ts) plus how far this process has indexed the partition's log. */
export class PartitionIndex extends IdWindow {
  /** Next offset not yet indexed; undefined until built from the log. */
  end: bigint | undefined;
}
