import { getJson, sendJson } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { QueryResult, TrackPoint } from '../lib/types.ts';
import { alertsModel } from './alerts.ts';
import { fleetModel } from './fleet.ts';

const MAX_POINTS = 50;

/**
 * The recent track of the selected alert's drone: from the live fleet tracker (GET /v1/fleet/drones/:id/track) and
 * then extended by the live positions; when the tracker has not seen the drone (a drone silent since the server
 * started), from the lake instead (its last 20 reports, through the SQL API).
 */
export class TrackModel extends Observable {
  droneId: string | null = null;
  points: TrackPoint[] = [];
  source: 'live' | 'lake' | null = null;
  loading = false;
  private request = 0;

  start(): void {
    alertsModel.subscribe(() => {
      const drone = alertsModel.selected?.droneId ?? null;
      if (drone !== this.droneId) void this.load(drone);
    });
    fleetModel.onPositions((changed) => {
      if (!this.droneId || this.source !== 'live') return;
      for (const [id, lat, lon, ts] of changed) {
        if (id !== this.droneId) continue;
        const last = this.points[this.points.length - 1];
        if (last && ts <= last.ts) continue;
        this.points = [...this.points, { lat, lon, ts }].slice(-MAX_POINTS);
        this.changed();
      }
    });
  }

  private async load(droneId: string | null): Promise<void> {
    const req = ++this.request;
    this.droneId = droneId;
    this.points = [];
    this.source = null;
    this.loading = droneId !== null;
    this.changed();
    if (!droneId) return;
    try {
      const live = await getJson<{ track: TrackPoint[] }>(`/v1/fleet/drones/${encodeURIComponent(droneId)}/track`);
      if (req !== this.request) return;
      if (live.track.length > 0) {
        this.points = live.track;
        this.source = 'live';
      } else {
        const quoted = `'${droneId.replace(/'/g, "''")}'`;
        const r = await sendJson<QueryResult>('POST', '/v1/query', {
          sql: `SELECT lat, lon, epoch_ms(ts) AS ts FROM reports WHERE drone_id = ${quoted} ORDER BY ts DESC LIMIT 20`,
          format: 'json',
        });
        if (req !== this.request) return;
        this.points = r.rows.map(([lat, lon, ts]) => ({ lat: Number(lat), lon: Number(lon), ts: Number(ts) })).reverse();
        this.source = 'lake';
      }
    } catch {
      // No track: the detail panel says so.
    }
    if (req === this.request) {
      this.loading = false;
      this.changed();
    }
  }
}

export const trackModel = new TrackModel();
