import L from 'leaflet';
import type { Incident } from '../lib/types.ts';
import { incidentsModel } from '../state/incidents.ts';
import { escapeHtml } from './base.ts';

/** An incident's area is drawn at least this wide (a lone alert has radius 0), metres. */
const MIN_RADIUS_M = 60;

const COLOR: Record<Incident['severity'], string> = { critical: '#b91c1c', warning: '#c2410c', info: '#1d4ed8' };

function areaStyle(i: Incident, focused: boolean): L.PathOptions {
  // Spreading is the one cue meant to draw the eye: a thick amber-and-black dashed outline (not one more shade of
  // red), labelled in words on the count badge, so it does not rest on colour alone.
  const spreading = i.growth.spreading;
  return {
    color: spreading ? '#111827' : COLOR[i.severity],
    weight: spreading ? 4 : focused ? 3 : 2,
    dashArray: spreading ? '10 6' : i.status === 'acknowledged' ? '4 4' : undefined,
    fillColor: spreading ? '#f5b700' : COLOR[i.severity],
    fillOpacity: spreading ? 0.28 : i.status === 'acknowledged' ? 0.06 : 0.14,
    opacity: 1,
  };
}

function labelHtml(i: Incident): string {
  const spreading = i.growth.spreading ? '<span class="dw-inc-spread">▲ spreading</span>' : '';
  return `<span class="dw-inc-count sev-${i.severity}">${i.citizenCount}</span>${spreading}`;
}

function tooltip(i: Incident): string {
  const g = i.growth.spreading ? 'spreading' : i.growing ? `growing (+${i.growth.citizensPerMinute.toFixed(1)}/min)` : 'steady';
  return `<strong>Incident · ${escapeHtml(i.severity)}</strong><br>${i.citizenCount} citizens · ${i.droneCount} drones · ${i.alertCount} alerts<br>${g} · ${escapeHtml(i.status)}`;
}

/**
 * The gatherings on the live map: each an area (a circle of its radius around its centroid; SVG, so each is an element
 * `path.dw-incident-<id>`) with a badge of its citizen count at the centroid. A click on either focuses it in the
 * feed; focusing a row in the feed fits the map to its extent.
 */
export function incidentLayer(map: L.Map, svg: L.SVG): () => void {
  const layer = L.layerGroup().addTo(map);
  const drawn = new Map<string, { area: L.Circle; label: L.Marker; incident: Incident; focused: boolean }>();
  let lastFocused: string | null = null;
  const draw = (): void => {
    const keep = new Set<string>();
    for (const i of incidentsModel.list()) {
      const focused = incidentsModel.focused === i.incidentId;
      // A lone alert's incident is its alert, already on the map (or in its cluster): drawing it again as an area and
      // a "1" badge would carpet the map once more. Gatherings (2 citizens or more) and the focused one are drawn.
      if (i.citizenCount < 2 && !focused) continue;
      keep.add(i.incidentId);
      const at: L.LatLngTuple = [i.centroid.lat, i.centroid.lon];
      const radius = Math.max(MIN_RADIUS_M, i.radiusM);
      const cur = drawn.get(i.incidentId);
      if (cur) {
        if (cur.incident !== i || cur.focused !== focused) {
          cur.area.setLatLng(at).setRadius(radius).setStyle(areaStyle(i, focused)).setTooltipContent(tooltip(i));
          cur.label.setLatLng(at).setIcon(labelIcon(i));
          cur.incident = i;
          cur.focused = focused;
        }
        continue;
      }
      const area = L.circle(at, { radius, ...areaStyle(i, focused), renderer: svg, className: `dw-incident dw-incident-${i.incidentId}`, bubblingMouseEvents: false });
      area.bindTooltip(tooltip(i), { direction: 'top' });
      const label = L.marker(at, { icon: labelIcon(i), keyboard: false, bubblingMouseEvents: false });
      const pick = (): void => incidentsModel.focus(i.incidentId);
      area.on('click', pick);
      label.on('click', pick);
      layer.addLayer(area).addLayer(label);
      drawn.set(i.incidentId, { area, label, incident: i, focused });
    }
    for (const [id, d] of drawn) {
      if (keep.has(id)) continue;
      layer.removeLayer(d.area).removeLayer(d.label);
      drawn.delete(id);
    }
    const f = incidentsModel.focused;
    if (f && f !== lastFocused) {
      const d = drawn.get(f);
      if (d) map.fitBounds(d.area.getBounds().pad(0.5), { maxZoom: 16 });
    }
    lastFocused = f;
  };
  draw();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const off = incidentsModel.subscribe(() => {
    // Events come in bursts (a batch of alerts updates several incidents): one redraw per burst.
    timer ??= setTimeout(() => {
      timer = undefined;
      draw();
    }, 100);
  });
  return () => {
    clearTimeout(timer);
    off();
    layer.remove();
  };
}

function labelIcon(i: Incident): L.DivIcon {
  return L.divIcon({
    className: `dw-incident-label dw-incident-label-${i.incidentId}${i.growth.spreading ? ' spreading' : ''}`,
    html: labelHtml(i),
    iconSize: [24, 24],
    iconAnchor: [12, 12],
  });
}
