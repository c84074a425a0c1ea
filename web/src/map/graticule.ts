import L from 'leaflet';

const STEPS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30];

/** Grid spacing in degrees giving about `target` lines across `span` degrees. */
export function gridStep(span: number, target = 8): number {
  return STEPS.find((s) => span / s <= target) ?? 30;
}

function decimals(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/**
 * A lat/lon grid with labels, redrawn for the visible area whenever the map moves: with the vector outline it is the
 * whole map offline, and it lets an officer read a position off the screen.
 */
export function graticule(): L.LayerGroup {
  const group = L.layerGroup();
  const style: L.PolylineOptions = { color: '#64748b', weight: 1, opacity: 0.45, interactive: false, dashArray: '2 4' };
  let map: L.Map | undefined;
  const draw = (): void => {
    if (!map) return;
    group.clearLayers();
    const b = map.getBounds();
    const latStep = gridStep(b.getNorth() - b.getSouth());
    const lonStep = gridStep(b.getEast() - b.getWest());
    const d = Math.max(decimals(latStep), decimals(lonStep));
    for (let lat = Math.ceil(b.getSouth() / latStep) * latStep; lat <= b.getNorth(); lat += latStep) {
      group.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
      group.addLayer(L.marker([lat, b.getWest()], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'dw-grid-label dw-grid-lat', html: `${lat.toFixed(d)}°N`, iconSize: [64, 14], iconAnchor: [-2, 14] }),
      }));
    }
    for (let lon = Math.ceil(b.getWest() / lonStep) * lonStep; lon <= b.getEast(); lon += lonStep) {
      group.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
      group.addLayer(L.marker([b.getNorth(), lon], {
        interactive: false, keyboard: false,
        icon: L.divIcon({ className: 'dw-grid-label dw-grid-lon', html: `${lon.toFixed(d)}°E`, iconSize: [64, 14], iconAnchor: [-2, -2] }),
      }));
    }
  };
  group.on('add', (e) => {
    map = (e.target as L.LayerGroup & { _map: L.Map })._map;
    map.on('moveend', draw);
    draw();
  });
  group.on('remove', () => {
    map?.off('moveend', draw);
    map = undefined;
  });
  return group;
}
