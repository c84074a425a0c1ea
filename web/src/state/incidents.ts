import { getJson, sendJson } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { Incident, IncidentEvent, Severity } from '../lib/types.ts';
import { alertsModel } from './alerts.ts';

/** Live incidents loaded at start and after each reconnect; the live feed keeps them current. */
const LOAD_LIMIT = 200;
/** Kept at most: past it the quietest (the end of the feed's order) are dropped, as the alert feed keeps 1,000. */
const MAX_KEPT = 500;
const EVENT_RENDER_MS = 250;
/** Acknowledgements sent at once by a bulk acknowledge: a few in flight, not hundreds at one server. */
const BULK_CONCURRENCY = 4;

const SEVERITY_RANK: Record<Severity, number> = { critical: 3, warning: 2, info: 1 };

/**
 * The order of the incident feed. A spreading incident first (the one cue that demands attention), then severity,
 * then growth within a severity (growing before steady, faster before slower), then size, then latest activity: a
 * lone info alert sinks below the gatherings without being hidden.
 */
export function compareIncidents(a: Incident, b: Incident): number {
  return Number(b.growth.spreading) - Number(a.growth.spreading)
    || SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]
    || Number(b.growing) - Number(a.growing)
    || b.growth.citizensPerMinute - a.growth.citizensPerMinute
    || b.citizenCount - a.citizenCount
    || b.lastAt - a.lastAt
    || (a.incidentId < b.incidentId ? -1 : 1);
}

export interface BulkResult {
  acknowledged: number;
  alertsChanged: number;
  failed: { incidentId: string; message: string }[];
}

/**
 * The dashboard's view of the live incidents (open or acknowledged): GET /v1/incidents, then the `incident.<type>`
 * events of the alert stream (forwarded by alertsModel, one connection for the page). A merged or resolved incident
 * leaves the list; the newest version of an incident wins (`updatedAt`).
 */
export class IncidentsModel extends Observable {
  loading = false;
  error: string | null = null;
  /** Incidents ticked for a bulk acknowledge. */
  readonly checked = new Set<string>();
  /** The incident whose area is highlighted on the map (a feed row's button). */
  focused: string | null = null;
  private incidents = new Map<string, Incident>();
  private sortedCache: Incident[] | null = null;
  private started = false;
  private buffered: IncidentEvent[] | null = null;
  private loadAbort: AbortController | undefined;
  private renderTimer: ReturnType<typeof setTimeout> | undefined;

  start(): void {
    if (this.started) return;
    this.started = true;
    alertsModel.onIncidentEvent((e) => {
      if (!e) {
        void this.load();
        return;
      }
      this.buffered?.push(e);
      if (this.apply(e.incident)) this.changedSoon();
    });
  }

  /**
   * Every alert sighting updates its incident: at several alerts a second, re-rendering the incident feed and map at
   * each would take the main thread from the alert feed (its latency budget, docs/benchmarks.md). Views hear of
   * live incident changes at most every EVENT_RENDER_MS.
   */
  private changedSoon(): void {
    this.renderTimer ??= setTimeout(() => {
      this.renderTimer = undefined;
      this.changed();
    }, EVENT_RENDER_MS);
  }

  list(): Incident[] {
    this.sortedCache ??= [...this.incidents.values()].sort(compareIncidents);
    return this.sortedCache;
  }

  get(id: string): Incident | undefined {
    return this.incidents.get(id);
  }

  async load(): Promise<void> {
    this.loadAbort?.abort();
    const abort = new AbortController();
    this.loadAbort = abort;
    this.buffered = [];
    this.loading = true;
    this.changed();
    try {
      const { incidents } = await getJson<{ incidents: Incident[] }>(`/v1/incidents?status=open,acknowledged&limit=${LOAD_LIMIT}`, abort.signal);
      if (abort.signal.aborted) return;
      const pending = this.buffered ?? [];
      this.incidents = new Map(incidents.map((i) => [i.incidentId, i]));
      this.sortedCache = null;
      for (const e of pending) this.apply(e.incident);
      this.error = null;
    } catch (err) {
      if (abort.signal.aborted) return;
      this.error = `Cannot load incidents: ${(err as Error).message}`;
    } finally {
      if (this.loadAbort === abort) {
        this.buffered = null;
        this.loading = false;
        this.changed();
      }
    }
  }

  /** Takes a newer version; returns whether the list changed. */
  private apply(i: Incident): boolean {
    const cur = this.incidents.get(i.incidentId);
    if (cur && cur.updatedAt > i.updatedAt) return false;
    this.sortedCache = null;
    if (i.status === 'open' || i.status === 'acknowledged') {
      this.incidents.set(i.incidentId, i);
      if (!cur && this.incidents.size > MAX_KEPT) this.trim();
      return true;
    }
    this.checked.delete(i.incidentId);
    if (this.focused === i.incidentId) this.focused = null;
    return this.incidents.delete(i.incidentId);
  }

  private trim(): void {
    for (const i of this.list().slice(MAX_KEPT)) {
      if (this.checked.has(i.incidentId) || this.focused === i.incidentId) continue;
      this.incidents.delete(i.incidentId);
    }
    this.sortedCache = null;
  }

  setChecked(id: string, on: boolean): void {
    if (on) this.checked.add(id);
    else this.checked.delete(id);
    this.changed();
  }

  /** Ticks every open incident listed (acknowledged ones have nothing left to acknowledge), or none. */
  checkAllOpen(on: boolean): void {
    this.checked.clear();
    if (on) for (const i of this.list()) if (i.status === 'open') this.checked.add(i.incidentId);
    this.changed();
  }

  focus(id: string | null): void {
    this.focused = id;
    this.changed();
  }

  /**
   * Acknowledges the ticked incidents, one POST each (the API acts on one incident; each is audited on its own), a few
   * at a time. Each answer is applied at once; the ones refused (already acknowledged by a colleague, merged
   * meanwhile) are reported and stay ticked.
   */
  async acknowledgeChecked(by: string, note?: string): Promise<BulkResult> {
    const ids = [...this.checked];
    const result: BulkResult = { acknowledged: 0, alertsChanged: 0, failed: [] };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < ids.length) {
        const id = ids[next++]!;
        try {
          const answer = await sendJson<{ incident: Incident; alertsChanged: number }>('POST', `/v1/incidents/${encodeURIComponent(id)}/ack`, { by, ...(note ? { note } : {}) });
          result.acknowledged++;
          result.alertsChanged += answer.alertsChanged;
          this.checked.delete(id);
          this.apply(answer.incident);
          this.changed();
        } catch (err) {
          result.failed.push({ incidentId: id, message: (err as Error).message });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(BULK_CONCURRENCY, ids.length) }, worker));
    this.changed();
    return result;
  }
}

export const incidentsModel = new IncidentsModel();
