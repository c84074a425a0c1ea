import type { AlertEvent } from '../../../alerts/types.ts';

/** Lifecycle events an alert record holds at most before the oldest is dropped (nobody drains: no worker running). */
export const MAX_PENDING_EVENTS = 64;

/**
 * The outbox of the KV state, as this process sees it: the lifecycle events (acknowledged, assigned, resolved) that
 * alert records hold in `pending` until they are confirmed on the `alerts` topic. An officer's change and its event
 * are written in one compare-and-set of the alert's key, so a process dying before its publish leaves the event in
 * the bucket, where any worker's outbox drain finds it (docs/alerts.md, "State in distributed mode").
 * Fed by the bucket's watch and by this process's own writes, each with its revision: an older revision never
 * replaces a newer one.
 */
export class PendingEvents {
  private readonly byAlert = new Map<string, { rev: number; events: readonly AlertEvent[] }>();
  /** Every pending event by id, with its alert: what a drain and markPublished look at (byAlert holds every alert). */
  private readonly pending = new Map<string, { alertId: string; event: AlertEvent }>();

  apply(alertId: string, events: readonly AlertEvent[] | undefined, rev: number): void {
    const known = this.byAlert.get(alertId);
    if (known && known.rev >= rev) return;
    if (known) for (const e of known.events) this.pending.delete(e.eventId);
    if (!events || events.length === 0) {
      // The revision is kept (with no events) so that a late, older watch entry cannot bring events back.
      this.byAlert.set(alertId, { rev, events: [] });
      return;
    }
    this.byAlert.set(alertId, { rev, events });
    for (const e of events) this.pending.set(e.eventId, { alertId, event: e });
  }

  /** The alert a pending event belongs to; undefined for any other event (a sighting's, or one already confirmed). */
  alertOf(eventId: string): string | undefined {
    return this.pending.get(eventId)?.alertId;
  }

  /** Pending events made at or before `before` (epoch ms), oldest first, at most `limit`. */
  list(before: number, limit: number): AlertEvent[] {
    const out: AlertEvent[] = [];
    for (const { event } of this.pending.values()) if (event.at <= before) out.push(event);
    return out.sort((a, b) => a.at - b.at).slice(0, limit);
  }

  /** Forgets the alerts `keep` rejects (the view evicted them: expired from the bucket). */
  prune(keep: (alertId: string) => boolean): void {
    for (const [alertId, known] of this.byAlert) {
      if (keep(alertId)) continue;
      for (const e of known.events) this.pending.delete(e.eventId);
      this.byAlert.delete(alertId);
    }
  }

  get size(): number {
    return this.pending.size;
  }
}
