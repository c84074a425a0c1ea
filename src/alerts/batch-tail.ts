import type { IncidentEvent } from '../incidents/types.ts';
import type { CommitPosition, StreamRecord } from '../stream/types.ts';
import type { AlertEvent } from './types.ts';

/** What the batches processed since the last flush leave to do: publish their events, then commit their offsets. */
export interface TailWork {
  events: AlertEvent[];
  incidentEvents: IncidentEvent[];
  /** The last offset of each partition over every batch of this work. */
  positions: CommitPosition[];
  batches: number;
}

/**
 * The alert worker's writes that are off the latency path (the topic publishes and the offset commit), coalesced.
 *
 * Each processed batch adds its events and offsets; one flush at a time takes everything added since the previous
 * one. So a burst of small batches (an alert path at a few hundred reports/s polls one or two records at a time)
 * costs one publish per topic and one commit, not one of each per batch, and the poll loop never waits for a
 * flush unless `maxWaiting` batches are already queued behind the one running (on a replicated stream a flush is a
 * few broker round trips; a chain of one flush per batch fell behind at 200 polls/s and made the poll loop wait).
 * Offsets are committed only by the flush that published their batches' events, so order and at-least-once hold.
 */
export class BatchTail {
  private events: AlertEvent[] = [];
  private incidentEvents: IncidentEvent[] = [];
  private readonly offsets = new Map<number, number>();
  private waiting = 0;
  /** The flush in progress, if any. */
  private current: Promise<void> | undefined;
  /** Resolves when nothing is queued or flushing. */
  private drained: Promise<void> | undefined;

  /** `flush` must not reject: a failure is its to log and recover (the outbox keeps unpublished events). */
  constructor(private readonly flush: (work: TailWork) => Promise<void>, private readonly maxWaiting: number) {}

  /**
   * Queues one batch's work. Returns a promise to await only when the queue is full (the running flush's end), so the
   * caller's next poll waits for the stream, never for a routine publish.
   */
  add(events: readonly AlertEvent[], incidentEvents: readonly IncidentEvent[], records: readonly StreamRecord[]): Promise<void> | undefined {
    for (const e of events) this.events.push(e);
    for (const e of incidentEvents) this.incidentEvents.push(e);
    for (const r of records) {
      if ((this.offsets.get(r.partition) ?? -1) < r.offset) this.offsets.set(r.partition, r.offset);
    }
    this.waiting++;
    this.drained ??= this.drain();
    return this.waiting > this.maxWaiting ? this.current : undefined;
  }

  /** Resolves when every batch added so far has been flushed. */
  idle(): Promise<void> {
    return this.drained ?? Promise.resolve();
  }

  private async drain(): Promise<void> {
    // One turn first: the batches processed in this turn of the event loop join the first flush.
    await Promise.resolve();
    while (this.waiting > 0) {
      const work: TailWork = {
        events: this.events, incidentEvents: this.incidentEvents, batches: this.waiting,
        positions: [...this.offsets].map(([partition, offset]) => ({ partition, offset })),
      };
      this.events = [];
      this.incidentEvents = [];
      this.offsets.clear();
      this.waiting = 0;
      this.current = this.flush(work);
      await this.current;
    }
    this.current = undefined;
    this.drained = undefined;
  }
}
