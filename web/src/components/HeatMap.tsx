import L from 'leaflet';
import { useEffect, useRef } from 'preact/hooks';
import type { DashboardConfig } from '../lib/types.ts';
import { createBaseMap } from '../map/base.ts';

export interface HeatCell {
  lat: number;
  lon: number;
  value: number;
}

/** Light yellow to dark red: a sequential scale that stays readable on the white city outline. */
const RAMP = ['#ffffcc', '#ffeda0', '#fed976', '#feb24c', '#fd8d3c', '#fc4e2a', '#e31a1c', '#bd0026', '#800026'];

export function heatColor(t: number): string {
  return RAMP[Math.min(RAMP.length - 1, Math.max(0, Math.floor(t * RAMP.length)))]!;
}

/**
 * A heat map on the city map: one rectangle per grid cell (the `hotspots` statistic names each cell by its south-west
 * corner), coloured by its count on a square-root scale, so a few very hot cells do not wash out the rest.
 */
export function HeatMap({ config, cells, cellSize, label }: { config: DashboardConfig; cells: HeatCell[]; cellSize: number; label: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current!;
    const { map, svg } = createBaseMap(el, config);
    const max = Math.max(1, ...cells.map((c) => c.value));
    const layer = L.layerGroup().addTo(map);
    for (const c of cells) {
      const t = Math.sqrt(c.value / max);
      L.rectangle([[c.lat, c.lon], [c.lat + cellSize, c.lon + cellSize]], {
        renderer: svg, className: 'dw-heat-cell', weight: 0.5, color: '#7f1d1d', fillColor: heatColor(t), fillOpacity: 0.35 + 0.5 * t,
      }).bindTooltip(`${c.value} ${label}<br>${c.lat.toFixed(4)}, ${c.lon.toFixed(4)}`).addTo(layer);
    }
    const legend = new L.Control({ position: 'bottomright' });
    legend.onAdd = () => {
      const div = L.DomUtil.create('div', 'map-legend heat-legend');
      div.innerHTML = `<strong>${label} per cell</strong><span class="ramp">${RAMP.map((c) => `<i style="background:${c}"></i>`).join('')}</span><span class="ends"><span>1</span><span>${max}</span></span>`;
      return div;
    };
    legend.addTo(map);
    const ro = new ResizeObserver(() => map.invalidateSize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      map.remove();
    };
  }, [config, cells, cellSize, label]);
  return <div ref={ref} class="map heat-map" role="img" aria-label={`Heat map of ${label} on a ${cellSize}° grid: ${cells.length} cells; the table below lists them`} />;
}
