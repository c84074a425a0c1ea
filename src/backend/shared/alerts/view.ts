import { summariseDurations, type ReactionTimes } from '../../../alerts/reaction.ts';
import type { AlertListQuery } from '../../../alerts/state.ts';
import type { Alert, AlertStatus } from '../../../alerts/types.ts';

/**
 * A process's copy of one tenant's alerts, fed by a KV watch (current values, then every change) and by the
 * process's own writes (applied with their revision as soon as the server acknowledged them, so a reader sees its own
 * change at once and the watch never takes the copy back in time). Lists, counts and reaction times are answered
 * from it: the API does not scan the bucket per request.
 */
export class AlertView {
  private readonly alerts = new Map<string, { alert: Alert; rev: number }>();
  /** Revisions of deleted keys too, so a late watch entry cannot resurrect them. */
  private readonly revisions = new Map<string, number>();
  /** Alerts last changed before this (epoch ms) are past the state's retention: dropped, and never taken back. */
  private cutoff = Number.NEGATIVE_INFINITY;

  apply(alertId: string, alert: Alert | null, rev: number): void {
    if (alert && alert.updatedAt < this.cutoff) return;
    if (rev <= (this.revisions.get(alertId) ?? 0)) return;
    this.revisions.set(alertId, rev);
    if (alert) this.alerts.set(alertId, { alert, rev });
    else this.alerts.delete(alertId);
  }

  /**
   * Forgets the alerts last changed before `cutoff` (the bucket's TTL removes them on the server; the watch does not
   * say so): memory stays bounded by the alerts of one retention period. Returns how many were dropped.
   */
  evictBefore(cutoff: number): number {
    this.cutoff = Math.max(this.cutoff, cutoff);
    let n = 0;
    for (const [id, { alert }] of this.alerts) {
      if (alert.updatedAt >= this.cutoff) continue;
      this.alerts.delete(id);
      this.revisions.delete(id);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.alerts.size;
  }

  get(alertId: string): Alert | undefined {
    return this.alerts.get(alertId)?.alert;
  }

  /** Same filters and order as AlertStore.list: newest first by raisedAt, then alertId. */
  list(q: AlertListQuery = {}): Alert[] {
    const statuses = q.status === undefined ? undefined : new Set(typeof q.status === 'string' ? [q.status] : q.status);
    const limit = Math.max(1, Math.min(10_000, Math.floor(q.limit ?? 100)));
    // The newest `limit` matches, kept sorted as they are found: O(n log limit), not a sort of the whole tenant.
    const out: Alert[] = [];
    for (const { alert: a } of this.alerts.values()) {
      if (statuses && statuses.size > 0 && !statuses.has(a.status)) continue;
      if (q.tenant !== undefined && a.tenant !== q.tenant) continue;
      if (q.droneId !== undefined && a.droneId !== q.droneId) continue;
      if (q.citizen !== undefined && a.citizen !== q.citizen) continue;
      if (q.since !== undefined && a.raisedAt < q.since) continue;
      if (q.bbox) {
        const [minLat, minLon, maxLat, maxLon] = q.bbox;
        const { lat, lon } = a.position;
        if (lat < minLat || lat > maxLat || lon < minLon || lon > maxLon) continue;
      }
      if (out.length === limit && !newer(a, out[limit - 1]!)) continue;
      let lo = 0;
      let hi = out.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (newer(out[mid]!, a)) lo = mid + 1;
        else hi = mid;
      }
      out.splice(lo, 0, a);
      if (out.length > limit) out.pop();
    }
    return out;
  }

  countByStatus(): Record<AlertStatus, number> {
    const out: Record<AlertStatus, number> = { open: 0, acknowledged: 0, resolved: 0 };
    for (const { alert } of this.alerts.values()) out[alert.status]++;
    return out;
  }

  /** As AlertStore.reactionTimes: alerts raised in [from, to), every tenant when `tenant` is undefined. */
  reactionTimes(from: number, to: number, opts: { tenant?: string; maxSamples?: number } = {}): ReactionTimes {
    const max = opts.maxSamples ?? 200_000;
    let n = 0;
    let open = 0;
    const ack: number[] = [];
    const res: number[] = [];
    for (const { alert: a } of this.alerts.values()) {
      if (a.raisedAt < from || a.raisedAt >= to || (opts.tenant !== undefined && a.tenant !== opts.tenant)) continue;
      n++;
      if (a.status === 'open') open++;
      if (a.acknowledgedAt !== null) ack.push(a.acknowledgedAt - a.raisedAt);
      if (a.resolvedAt !== null) res.push(a.resolvedAt - a.raisedAt);
    }
    const fastest = (d: number[]): number[] => d.sort((x, y) => x - y).slice(0, max);
    return { from, to, alerts: n, open, toAcknowledge: summariseDurations(fastest(ack)), toResolve: summariseDurations(fastest(res)) };
  }
}

/** The list order: raisedAt descending, then alertId descending (as the SQLite store's ORDER BY). */
function newer(x: Alert, y: Alert): boolean {
  return x.raisedAt > y.raisedAt || (x.raisedAt === y.raisedAt && x.alertId > y.alertId);
}
