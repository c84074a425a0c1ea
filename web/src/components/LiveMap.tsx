import L from 'leaflet';
import { useEffect, useRef } from 'preact/hooks';
import { formatDateTime } from '../lib/format.ts';
import type { Alert, DashboardConfig } from '../lib/types.ts';
import { createBaseMap, escapeHtml } from '../map/base.ts';
import { clusterAlerts, type AlertCluster } from '../map/cluster.ts';
import { incidentLayer } from '../map/incidents.ts';
import { alertsModel } from '../state/alerts.ts';
import { fleetModel } from '../state/fleet.ts';
import { trackModel } from '../state/track.ts';

/** Alerts drawn at most (the newest of the feed's current filter). */
const MAX_ALERT_MARKERS = 500;
const DRONE_REFRESH_MS = 1000;
const ALERT_REFRESH_MS = 250;
/** A new alert is drawn on its own this long before it folds into its cluster: the officer sees where it is. */
const SINGLE_AFTER_RAISE_MS = 15_000;

const DRONE_STYLE: L.CircleMarkerOptions = { radius: 3.5, color: '#1e3a5f', weight: 1, fillColor: '#2f6fb3', fillOpacity: 0.9 };
const SILENT_STYLE: L.CircleMarkerOptions = { radius: 5, color: '#b45309', weight: 2, fillColor: '#fde68a', fillOpacity: 0.9 };

export function alertStyle(a: Alert, selected: boolean): L.CircleMarkerOptions {
  const color = a.status === 'resolved' ? '#6b7280' : a.severity === 'critical' ? '#b91c1c' : a.severity === 'warning' ? '#c2410c' : '#1d4ed8';
  return {
    radius: selected ? 11 : a.severity === 'critical' ? 8 : 6.5,
    color: selected ? '#111827' : color,
    weight: selected ? 3 : 2,
    fillColor: color,
    // Acknowledged alerts are hollow: an officer is on it.
    fillOpacity: a.status === 'open' ? 0.85 : 0.15,
  };
}

function legend(): L.Control {
  const c = new L.Control({ position: 'bottomleft' });
  c.onAdd = () => {
    const div = L.DomUtil.create('div', 'map-legend');
    div.innerHTML = `<strong>Legend</strong>
      <span><i class="lg drone"></i>drone</span><span><i class="lg silent"></i>silent drone</span>
      <span><i class="lg incident"></i>incident (citizens)</span><span><i class="lg spreading"></i>spreading incident</span>
      <span><i class="lg cluster">n</i>alerts nearby (zoom in)</span>
      <span><i class="lg crit"></i>critical alert</span><span><i class="lg warn"></i>warning alert</span>
      <span><i class="lg ack"></i>acknowledged</span><span><i class="lg track"></i>drone track</span>`;
    return div;
  };
  return c;
}

/**
 * The live map: every drone's last position (canvas: 1,000 markers move every second), the incidents as areas with
 * their counts (src/map/incidents.ts), the alerts of the feed (SVG, so each is an element: `path.dw-alert-<id>`;
 * clustered at city zoom, src/map/cluster.ts), and the selected alert's drone track. Fed by the models directly, not
 * through Preact renders, so moving markers cost no page re-render.
 */
export function LiveMap({ config }: { config: DashboardConfig }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current!;
    const { map, canvas, svg } = createBaseMap(el, config);
    legend().addTo(map);

    // Drones.
    const drones = new Map<string, L.CircleMarker>();
    const droneLayer = L.layerGroup().addTo(map);
    let silent = new Set<string>();
    const placeDrones = (changed: readonly [string, number, number, number][], reset: boolean): void => {
      if (reset) {
        droneLayer.clearLayers();
        drones.clear();
      }
      for (const [id, lat, lon] of changed) {
        const m = drones.get(id);
        if (m) m.setLatLng([lat, lon]);
        else {
          const marker = L.circleMarker([lat, lon], { ...(silent.has(id) ? SILENT_STYLE : DRONE_STYLE), renderer: canvas, bubblingMouseEvents: false });
          marker.bindTooltip(id, { direction: 'top' });
          drones.set(id, marker);
          droneLayer.addLayer(marker);
        }
      }
    };
    placeDrones([...fleetModel.positions.values()], true);
    // Drones report once a minute: moving their markers once a second is plenty, and every canvas redraw costs paint
    // time the alert feed needs (the server sends positions every 250 ms; they are merged here).
    const pendingDrones = new Map<string, [string, number, number, number]>();
    let pendingReset = false;
    const offPositions = fleetModel.onPositions((changed, reset) => {
      if (reset) {
        pendingDrones.clear();
        pendingReset = true;
      }
      for (const p of changed) pendingDrones.set(p[0], p);
    });
    const droneTimer = setInterval(() => {
      if (pendingDrones.size === 0 && !pendingReset) return;
      const batch = [...pendingDrones.values()];
      const reset = pendingReset;
      pendingDrones.clear();
      pendingReset = false;
      placeDrones(batch, reset);
    }, DRONE_REFRESH_MS);
    const offHealth = fleetModel.subscribe(() => {
      const next = new Set((fleetModel.health?.silent ?? []).map((s) => s.droneId));
      for (const id of silent) if (!next.has(id)) drones.get(id)?.setStyle(DRONE_STYLE);
      for (const id of next) drones.get(id)?.setStyle(SILENT_STYLE);
      silent = next;
    });

    // Incidents: areas with their counts, under the alerts.
    const offIncidents = incidentLayer(map, svg);

    // Alerts: clustered on a grid at city zoom, each on its own at street zoom.
    const clusterLayer = L.layerGroup().addTo(map);
    const clusterMarkers = new Map<string, { marker: L.Marker; size: number; severity: string }>();
    const drawClusters = (clusters: AlertCluster[]): void => {
      const keep = new Set<string>();
      for (const c of clusters) {
        keep.add(c.key);
        const cur = clusterMarkers.get(c.key);
        if (cur && cur.size === c.alerts.length && cur.severity === c.severity) {
          cur.marker.setLatLng([c.lat, c.lon]);
          continue;
        }
        if (cur) clusterLayer.removeLayer(cur.marker);
        const marker = L.marker([c.lat, c.lon], {
          icon: L.divIcon({ className: `dw-alert-cluster sev-${c.severity}`, html: `<span>${c.alerts.length}</span>`, iconSize: [30, 30] }),
          title: `${c.alerts.length} alerts here: zoom in`,
          bubblingMouseEvents: false,
        });
        const members = c.alerts;
        marker.on('click', () => map.fitBounds(L.latLngBounds(members.map((a) => [a.position.lat, a.position.lon])).pad(0.3), { maxZoom: 17 }));
        clusterLayer.addLayer(marker);
        clusterMarkers.set(c.key, { marker, size: c.alerts.length, severity: c.severity });
      }
      for (const [key, m] of clusterMarkers) {
        if (keep.has(key)) continue;
        clusterLayer.removeLayer(m.marker);
        clusterMarkers.delete(key);
      }
    };
    const alertMarkers = new Map<string, { marker: L.CircleMarker; alert: Alert; selected: boolean }>();
    const alertLayer = L.layerGroup().addTo(map);
    const drawAlerts = (): void => {
      const selectedId = alertsModel.selected?.alertId;
      const listed = alertsModel.list().slice(0, MAX_ALERT_MARKERS);
      if (alertsModel.selected && !listed.some((a) => a.alertId === selectedId)) listed.push(alertsModel.selected);
      const now = Date.now();
      const { singles: shown, clusters } = clusterAlerts(listed, map, (a) => a.alertId === selectedId || now - a.raisedAt < SINGLE_AFTER_RAISE_MS);
      drawClusters(clusters);
      const keep = new Set<string>();
      for (const a of shown) {
        keep.add(a.alertId);
        const sel = a.alertId === selectedId;
        const cur = alertMarkers.get(a.alertId);
        if (cur) {
          if (cur.alert !== a || cur.selected !== sel) {
            cur.marker.setLatLng([a.position.lat, a.position.lon]).setStyle(alertStyle(a, sel));
            cur.marker.setTooltipContent(alertTooltip(a));
            if (sel) cur.marker.bringToFront();
            cur.alert = a;
            cur.selected = sel;
          }
          continue;
        }
        const marker = L.circleMarker([a.position.lat, a.position.lon], {
          ...alertStyle(a, sel),
          renderer: svg,
          className: `dw-alert-marker dw-alert-${a.alertId}`,
          bubblingMouseEvents: false,
        });
        marker.bindTooltip(alertTooltip(a), { direction: 'top' });
        marker.on('click', () => alertsModel.select(a.alertId));
        alertLayer.addLayer(marker);
        alertMarkers.set(a.alertId, { marker, alert: a, selected: sel });
      }
      for (const [id, m] of alertMarkers) {
        if (!keep.has(id)) {
          alertLayer.removeLayer(m.marker);
          alertMarkers.delete(id);
        }
      }
    };
    drawAlerts();
    map.on('zoomend', drawAlerts);
    // A new alert folds into its cluster once it is no longer new, even when nothing else changes.
    const foldTimer = setInterval(drawAlerts, SINGLE_AFTER_RAISE_MS / 3);
    // Several alerts a second: markers are redrawn at most every ALERT_REFRESH_MS (the feed row shows at once).
    let alertsTimer: ReturnType<typeof setTimeout> | undefined;
    let lastAlertsDraw = 0;
    const offAlerts = alertsModel.subscribe(() => {
      if (alertsTimer) return;
      const wait = Math.max(0, lastAlertsDraw + ALERT_REFRESH_MS - performance.now());
      alertsTimer = setTimeout(() => {
        alertsTimer = undefined;
        lastAlertsDraw = performance.now();
        drawAlerts();
      }, wait);
    });

    // The selected alert's drone track.
    const trackLayer = L.layerGroup().addTo(map);
    let lastPanned: string | null = null;
    const drawTrack = (): void => {
      trackLayer.clearLayers();
      const pts = trackModel.points.map((p) => L.latLng(p.lat, p.lon));
      if (pts.length > 0) {
        trackLayer.addLayer(L.polyline(pts, { color: '#111827', weight: 3, opacity: 0.8, dashArray: '6 5', renderer: svg, className: 'dw-track', interactive: false }));
        trackModel.points.forEach((p, i) => {
          trackLayer.addLayer(L.circleMarker([p.lat, p.lon], { radius: i === trackModel.points.length - 1 ? 5 : 3, color: '#111827', weight: 1, fillColor: '#f8fafc', fillOpacity: 1, renderer: svg })
            .bindTooltip(`${escapeHtml(trackModel.droneId ?? '')}<br>${formatDateTime(p.ts)}`));
        });
      }
      const sel = alertsModel.selected;
      if (sel && sel.alertId !== lastPanned) {
        lastPanned = sel.alertId;
        const at = L.latLng(sel.position.lat, sel.position.lon);
        if (!map.getBounds().pad(-0.1).contains(at)) map.panTo(at);
      }
    };
    const offTrack = trackModel.subscribe(drawTrack);

    // Area filter: the visible part of the map.
    let moveTimer: ReturnType<typeof setTimeout> | undefined;
    const reportView = (): void => {
      clearTimeout(moveTimer);
      moveTimer = setTimeout(() => {
        const b = map.getBounds();
        alertsModel.setViewBbox([b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]);
      }, 250);
    };
    map.on('moveend', reportView);
    reportView();
    const ro = new ResizeObserver(() => map.invalidateSize());
    ro.observe(el);
    return () => {
      clearTimeout(moveTimer);
      clearTimeout(alertsTimer);
      clearInterval(droneTimer);
      clearInterval(foldTimer);
      offIncidents();
      ro.disconnect();
      offPositions();
      offHealth();
      offAlerts();
      offTrack();
      map.remove();
    };
  }, [config]);
  return <div ref={ref} class="map live-map" role="region" aria-label="Live map: drones, incidents, alerts and the selected drone's track" />;
}

function alertTooltip(a: Alert): string {
  return `<strong>${escapeHtml(a.citizen)}</strong> (score ${a.score})<br>${escapeHtml(a.droneId)} · ${a.severity} · ${a.status}`;
}
