import { getJson, openEventStream, sendJson } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { Alert, AlertEvent, AlertStatus, IncidentEvent, IncidentEventType } from '../lib/types.ts';

const INCIDENT_EVENT_TYPES: IncidentEventType[] = ['opened', 'updated', 'merged', 'acknowledged', 'assigned', 'resolved'];

export type StatusFilter = 'active' | 'open' | 'acknowledged' | 'resolved' | 'all';
export type AreaFilter = 'all' | 'view';
export type Bbox = [number, number, number, number];

export interface AlertFilters {
  status: StatusFilter;
  /** Exact drone id, or '' for all. */
  droneId: string;
  /** `view`: only alerts inside the map's visible area. */
  area: AreaFilter;
}

const STATUSES: Record<StatusFilter, AlertStatus[] | undefined> = {
  active: ['open', 'acknowledged'],
  open: ['open'],
  acknowledged: ['acknowledged'],
  resolved: ['resolved'],
  all: undefined,
};

/** Alerts loaded per filter change; the live feed adds to them, up to MAX_KEPT. */
const LOAD_LIMIT = 500;
const MAX_KEPT = 1000;

export type AlertEventListener = (event: AlertEvent, previous: Alert | undefined) => void;

/**
 * The dashboard's view of the alerts: the newest alerts matching the filters, kept current by the live feed
 * (GET /v1/alerts/stream). On start and whenever the filters change it loads the matching alerts
 * (GET /v1/alerts); events that arrive meanwhile are replayed over the loaded list, newest version wins
 * (`updatedAt`), so nothing is lost in the gap. After a reconnect it loads again, since events may have been missed.
 */
export class AlertsModel extends Observable {
  filters: AlertFilters = { status: 'active', droneId: '', area: 'all' };
  /** The map's visible area, for the `view` area filter. */
  viewBbox: Bbox | null = null;
  connected = false;
  loading = false;
  error: string | null = null;
  /** The alert whose details are shown, kept even when it stops matching the filters (e.g. just resolved). */
  selected: Alert | null = null;
  private alerts = new Map<string, Alert>();
  private sortedCache: Alert[] | null = null;
  private started = false;
  private loadAbort: AbortController | undefined;
  /** Events received while a load is in flight, replayed over its answer. */
  private buffered: AlertEvent[] | null = null;
  private readonly eventListeners = new Set<AlertEventListener>();
  private readonly incidentListeners = new Set<(event: IncidentEvent | null) => void>();

  start(): void {
    if (this.started) return;
    this.started = true;
    openEventStream('/v1/alerts/stream', {
      onOpen: () => {
        this.connected = true;
        void this.load();
        for (const l of this.incidentListeners) l(null);
      },
      onDown: () => {
        this.connected = false;
        this.changed();
      },
      events: {
        ...Object.fromEntries(['raised', 'updated', 'acknowledged', 'assigned', 'resolved'].map((t) => [t, (data: string) => this.onEvent(JSON.parse(data) as AlertEvent)])),
        // Incident changes ride on the same stream (one connection for the live page); the incidents model takes them.
        ...Object.fromEntries(INCIDENT_EVENT_TYPES.map((t) => [`incident.${t}`, (data: string) => {
          const e = JSON.parse(data) as IncidentEvent;
          for (const l of this.incidentListeners) l(e);
        }])),
      },
    });
  }

  /** Incident events of the live feed (src/state/incidents.ts); `null` when the stream (re)connected: reload. */
  onIncidentEvent(listener: (event: IncidentEvent | null) => void): () => void {
    this.incidentListeners.add(listener);
    return () => this.incidentListeners.delete(listener);
  }

  /** Every live event, after the model applied it (reaction panel, critical cue). */
  onAlertEvent(listener: AlertEventListener): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** The matching alerts, newest first. */
  list(): Alert[] {
    this.sortedCache ??= [...this.alerts.values()].sort((a, b) => b.raisedAt - a.raisedAt || (a.alertId < b.alertId ? 1 : -1));
    return this.sortedCache;
  }

  get(alertId: string): Alert | undefined {
    return this.alerts.get(alertId) ?? (this.selected?.alertId === alertId ? this.selected : undefined);
  }

  setFilters(next: Partial<AlertFilters>): void {
    this.filters = { ...this.filters, ...next };
    void this.load();
  }

  setViewBbox(bbox: Bbox): void {
    this.viewBbox = bbox;
    if (this.filters.area === 'view') void this.load();
  }

  select(alertId: string | null): void {
    this.selected = alertId ? (this.alerts.get(alertId) ?? null) : null;
    this.changed();
  }

  /** Loads the alert itself when it is not among those loaded (a link, a search). */
  async selectById(alertId: string): Promise<void> {
    const a = this.alerts.get(alertId) ?? (await getJson<Alert>(`/v1/alerts/${encodeURIComponent(alertId)}`));
    this.selected = a;
    this.changed();
  }

  matches(a: Alert): boolean {
    const f = this.filters;
    const statuses = STATUSES[f.status];
    if (statuses && !statuses.includes(a.status)) return false;
    if (f.droneId && a.droneId !== f.droneId) return false;
    if (f.area === 'view' && this.viewBbox) {
      const [minLat, minLon, maxLat, maxLon] = this.viewBbox;
      const { lat, lon } = a.position;
      if (lat < minLat || lat > maxLat || lon < minLon || lon > maxLon) return false;
    }
    return true;
  }

  async load(): Promise<void> {
    this.loadAbort?.abort();
    const abort = new AbortController();
    this.loadAbort = abort;
    this.buffered = [];
    this.loading = true;
    this.changed();
    const f = this.filters;
    const q = new URLSearchParams({ limit: String(LOAD_LIMIT) });
    const statuses = STATUSES[f.status];
    if (statuses) q.set('status', statuses.join(','));
    if (f.droneId) q.set('droneId', f.droneId);
    if (f.area === 'view' && this.viewBbox) q.set('bbox', this.viewBbox.map((v) => v.toFixed(6)).join(','));
    try {
      const { alerts } = await getJson<{ alerts: Alert[] }>(`/v1/alerts?${q}`, abort.signal);
      if (abort.signal.aborted) return;
      const pending = this.buffered ?? [];
      this.buffered = null;
      this.alerts = new Map(alerts.map((a) => [a.alertId, a]));
      this.sortedCache = null;
      this.error = null;
      for (const e of pending) this.apply(e.alert);
      this.trim();
    } catch (err) {
      if (abort.signal.aborted) return;
      this.buffered = null;
      this.error = `Cannot load alerts: ${(err as Error).message}`;
    } finally {
      if (this.loadAbort === abort) {
        this.loading = false;
        this.changed();
      }
    }
  }

  private onEvent(e: AlertEvent): void {
    const previous = this.get(e.alert.alertId);
    if (this.buffered) this.buffered.push(e);
    if (this.apply(e.alert)) this.changed();
    for (const l of this.eventListeners) l(e, previous);
  }

  /** Takes a newer version of an alert; returns whether anything visible changed. */
  private apply(a: Alert): boolean {
    let touched = false;
    if (this.selected?.alertId === a.alertId && this.selected.updatedAt <= a.updatedAt) {
      this.selected = a;
      touched = true;
    }
    const cur = this.alerts.get(a.alertId);
    if (cur && cur.updatedAt > a.updatedAt) return touched;
    if (this.matches(a)) {
      this.alerts.set(a.alertId, a);
      this.sortedCache = null;
      if (!cur && this.alerts.size > MAX_KEPT) this.trim();
      return true;
    }
    if (cur) {
      this.alerts.delete(a.alertId);
      this.sortedCache = null;
      return true;
    }
    return touched;
  }

  private trim(): void {
    if (this.alerts.size <= MAX_KEPT) return;
    for (const a of this.list().slice(MAX_KEPT)) this.alerts.delete(a.alertId);
    this.sortedCache = null;
  }

  /** Officer actions; the answer (the changed alert) is applied at once, the live event confirms it. */
  async acknowledge(alertId: string, by: string, note?: string): Promise<void> {
    this.applyAnswer(await sendJson<Alert>('POST', `/v1/alerts/${encodeURIComponent(alertId)}/ack`, { by, ...(note ? { note } : {}) }));
  }

  async assign(alertId: string, assignee: string, by: string): Promise<void> {
    this.applyAnswer(await sendJson<Alert>('POST', `/v1/alerts/${encodeURIComponent(alertId)}/assign`, { by, assignee }));
  }

  async resolve(alertId: string, by: string, note?: string): Promise<void> {
    this.applyAnswer(await sendJson<Alert>('POST', `/v1/alerts/${encodeURIComponent(alertId)}/resolve`, { by, ...(note ? { note } : {}) }));
  }

  private applyAnswer(a: Alert): void {
    if (this.apply(a)) this.changed();
    else this.changed();
  }
}

export const alertsModel = new AlertsModel();
