import L from 'leaflet';
import 'leaflet/dist/leaflet.css';
import type { DashboardConfig } from '../lib/types.ts';
import { graticule } from './graticule.ts';
import { LANDMARKS, PARIS_LIMIT, SEINE, WOODS } from './paris.ts';

export interface BaseMap {
  map: L.Map;
  /** For vector overlays with many shapes that need no DOM of their own (drones). */
  canvas: L.Canvas;
  /** For overlays whose shapes must be in the DOM (alerts: tests and assistive tools can find them). */
  svg: L.SVG;
}

/**
 * A Leaflet map that works with no network: an outline of Paris (city limit, Seine, woods, landmarks) and a lat/lon
 * grid drawn as vectors from data shipped in the bundle. When the server is configured with a tile server
 * (`dashboard.tileUrl`) or a local tile set (`dashboard.tileDir`), its tiles go underneath, and the layer control can
 * switch them off if the server is unreachable.
 */
export function createBaseMap(el: HTMLElement, config: DashboardConfig): BaseMap {
  const [minLat, minLon, maxLat, maxLon] = config.bbox;
  const map = L.map(el, {
    zoomControl: true,
    attributionControl: true,
    keyboard: true,
    maxZoom: config.tileMaxZoom,
    zoomSnap: 0.25,
  });
  map.fitBounds([[minLat, minLon], [maxLat, maxLon]], { padding: [8, 8] });
  const canvas = L.canvas({ padding: 0.2 });
  const svg = L.svg({ padding: 0.2 });

  const overlays: Record<string, L.Layer> = {};
  if (config.tileUrl) {
    const tiles = L.tileLayer(config.tileUrl, { maxZoom: config.tileMaxZoom, attribution: config.tileAttribution });
    tiles.addTo(map);
    overlays['Map tiles'] = tiles;
  }

  const outline = L.layerGroup([
    L.geoJSON(PARIS_LIMIT, { interactive: false, style: { color: '#475569', weight: 2, fillColor: '#ffffff', fillOpacity: config.tileUrl ? 0 : 0.85, dashArray: '6 4' } }),
    L.geoJSON(WOODS, { interactive: false, style: { color: '#4d7c0f', weight: 1, fillColor: '#bbd89a', fillOpacity: config.tileUrl ? 0.1 : 0.6 } }),
    L.geoJSON(SEINE, { interactive: false, style: { color: '#3b82c4', weight: 6, opacity: 0.75, lineCap: 'round', lineJoin: 'round' } }),
    L.geoJSON(LANDMARKS, {
      pointToLayer: (f, latlng) => L.marker(latlng, {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'dw-landmark', html: `<span>${escapeHtml(String(f.properties?.name ?? ''))}</span>`, iconSize: [120, 16], iconAnchor: [60, 8] }),
      }),
    }),
  ]);
  outline.addTo(map);
  overlays['Paris outline'] = outline;
  const grid = graticule();
  grid.addTo(map);
  overlays['Lat/lon grid'] = grid;
  L.control.layers(undefined, overlays, { collapsed: true }).addTo(map);
  L.control.scale({ imperial: false }).addTo(map);
  map.attributionControl.setPrefix('');
  map.attributionControl.addAttribution('Outline of Paris: approximate, drawn for dronewatch');
  return { map, canvas, svg };
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
