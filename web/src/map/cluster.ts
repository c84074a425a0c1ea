import type L from 'leaflet';
import type { Alert } from '../lib/types.ts';

/** From this zoom on (streets), every alert is drawn on its own. */
export const CLUSTER_MAX_ZOOM = 15;
/** Grid cell of the clustering, screen pixels: about a marker's reach, so clustered markers would have overlapped. */
export const CLUSTER_CELL_PX = 56;

export interface AlertCluster {
  /** Stable for the cell at this zoom: the marker is reused while the view does not change. */
  key: string;
  lat: number;
  lon: number;
  alerts: Alert[];
  severity: Alert['severity'];
}

/**
 * Grid clustering in screen space (no dependency: a few hundred alerts, one pass): alerts whose projected points fall
 * in the same CLUSTER_CELL_PX cell at the map's zoom become one cluster at their mean position. A cell of one alert,
 * an alert `keepSingle` names (the selected one, the ones just raised: an officer sees where a new alert is before it
 * folds into its cluster) and every alert at CLUSTER_MAX_ZOOM and closer stay single.
 */
export function clusterAlerts(alerts: readonly Alert[], map: L.Map, keepSingle: (a: Alert) => boolean): { singles: Alert[]; clusters: AlertCluster[] } {
  const zoom = map.getZoom();
  if (zoom >= CLUSTER_MAX_ZOOM) return { singles: [...alerts], clusters: [] };
  const singles: Alert[] = [];
  const cells = new Map<string, Alert[]>();
  for (const a of alerts) {
    if (keepSingle(a)) {
      singles.push(a);
      continue;
    }
    const p = map.project([a.position.lat, a.position.lon], zoom);
    const key = `${zoom}:${Math.floor(p.x / CLUSTER_CELL_PX)}:${Math.floor(p.y / CLUSTER_CELL_PX)}`;
    const cell = cells.get(key);
    if (cell) cell.push(a);
    else cells.set(key, [a]);
  }
  const clusters: AlertCluster[] = [];
  for (const [key, members] of cells) {
    if (members.length === 1) {
      singles.push(members[0]!);
      continue;
    }
    let lat = 0;
    let lon = 0;
    let severity: Alert['severity'] = 'info';
    for (const a of members) {
      lat += a.position.lat;
      lon += a.position.lon;
      if (a.severity === 'critical' || (a.severity === 'warning' && severity === 'info')) severity = a.severity;
    }
    clusters.push({ key, lat: lat / members.length, lon: lon / members.length, alerts: members, severity });
  }
  return { singles, clusters };
}
