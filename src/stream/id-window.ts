/**
 * The record ids of one partition's duplicate window, for backends whose log holds the ids (Kafka, NatsStream): each
 * publishing process keeps one per partition it publishes ids to, built from the log and caught up with it before
 * each append (the backend's dedup design says how). A Map in insertion order, which is append order, so expiry walks
 * from the front; memory is the Map's (~100 bytes per id), acceptable at these backends' rates, unlike the embedded
 * log's typed-array index (src/backend/sqlite/stream/dedup.ts) that serves ~10x more records per second.
 */

/** A record id's first append within the duplicate window. */
export interface Seen {
  offset: number;
  /** Append time, epoch ms. */
  at: number;
}

export class IdWindow {
  /** Insertion order is append order, so expiry walks from the front. */
  private readonly ids = new Map<string, Seen>();

  constructor(private readonly windowMs: number) {}

  private expire(now: number): void {
    for (const [id, s] of this.ids) {
      if (now - s.at <= this.windowMs) break;
      this.ids.delete(id);
    }
  }

  get(id: string, now: number): Seen | undefined {
    this.expire(now);
    const s = this.ids.get(id);
    return s && now - s.at <= this.windowMs ? s : undefined;
  }

  /** Records an appended id; the first (lowest offset) record of an id within the window stays the original. */
  add(id: string, seen: Seen): void {
    const prev = this.ids.get(id);
    if (prev && prev.offset <= seen.offset && seen.at - prev.at <= this.windowMs) return;
    this.ids.delete(id);
    this.ids.set(id, seen);
  }

  get size(): number {
    return this.ids.size;
  }
}
