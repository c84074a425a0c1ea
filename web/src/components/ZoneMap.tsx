import L from 'leaflet';
import { useEffect, useRef } from 'preact/hooks';
import type { DashboardConfig, Rule, Zone } from '../lib/types.ts';
import { createBaseMap } from '../map/base.ts';
import { zoneLatLngs, type LatLon } from '../pages/rules-draft.ts';

/** A shape being drawn (`draw`: points added by clicks until closed) or an existing zone being reshaped (`edit`). */
export interface ZoneDraft {
  mode: 'draw' | 'edit';
  points: LatLon[];
  /** A drawn shape is closed once the officer clicks its first point (or the close button): then the form shows. */
  closed: boolean;
  /** The zone being reshaped (`edit`). */
  zoneId?: string;
}

export interface ZoneMapProps {
  config: DashboardConfig;
  zones: Zone[];
  rules: Rule[];
  draft: ZoneDraft | null;
  selectedVertex: number | null;
  onAddPoint: (p: LatLon) => void;
  onClose: () => void;
  onMovePoint: (i: number, p: LatLon) => void;
  onSelectVertex: (i: number) => void;
  onSelectZone: (id: string) => void;
  /** Filled by the map: its centre, for the keyboard's way of adding a point (pan with the arrows, then add). */
  centreRef?: { current: (() => LatLon) | null };
  /** Words of the map (tooltips, labels) in the page's language. */
  text: { zoneTooltip: (z: Zone, rules: Rule[]) => string; vertex: (i: number) => string; region: string };
}

const ZONE_STYLE: L.PathOptions = { color: '#7c3aed', weight: 2, fillColor: '#a78bfa', fillOpacity: 0.18 };
/** A zone no enabled rule uses: still drawn (it is in the version), dashed and grey. */
const IDLE_STYLE: L.PathOptions = { color: '#6b7280', weight: 2, dashArray: '5 5', fillColor: '#9ca3af', fillOpacity: 0.08 };
const DRAFT_STYLE: L.PathOptions = { color: '#111827', weight: 3, dashArray: '8 4', fillColor: '#f5b700', fillOpacity: 0.25 };

/**
 * The rules page's map: the tenant's zones (SVG, one element each: `path.dw-zone-<id>`), and the shape being drawn or
 * reshaped with a marker on each of its points (`.dw-vertex[data-vertex=i]`). Drawing: each click on the map adds a
 * point, a click on the first point closes the shape. Reshaping: a point is dragged to move it, clicked to select it
 * (the page deletes the selected one). The view's bounds are kept on the element (`data-bounds`, south,west,north,east)
 * so that a test can turn its clicks into coordinates independently of Leaflet.
 */
export function ZoneMap(props: ZoneMapProps) {
  const ref = useRef<HTMLDivElement>(null);
  const mapRef = useRef<{ map: L.Map; svg: L.SVG; zones: L.LayerGroup; draft: L.LayerGroup } | null>(null);
  // Leaflet's handlers are bound once; they read the latest props through this.
  const latest = useRef(props);
  latest.current = props;

  useEffect(() => {
    const el = ref.current!;
    const { map, svg } = createBaseMap(el, props.config);
    const zones = L.layerGroup().addTo(map);
    const draft = L.layerGroup().addTo(map);
    mapRef.current = { map, svg, zones, draft };
    if (props.centreRef) props.centreRef.current = () => { const c = map.getCenter(); return [c.lat, c.lng]; };
    const keepBounds = (): void => {
      const b = map.getBounds();
      el.dataset.bounds = [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].join(',');
      el.dataset.zoom = String(map.getZoom());
    };
    map.on('moveend zoomend resize', keepBounds);
    keepBounds();
    map.on('click', (e: L.LeafletMouseEvent) => {
      const d = latest.current.draft;
      if (d?.mode === 'draw' && !d.closed) latest.current.onAddPoint([e.latlng.lat, e.latlng.lng]);
    });
    const ro = new ResizeObserver(() => map.invalidateSize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      map.remove();
      mapRef.current = null;
      if (props.centreRef) props.centreRef.current = null;
    };
  }, [props.config]);

  // Zones of the version in force (the one being reshaped is drawn by the draft layer instead).
  useEffect(() => {
    const m = mapRef.current;
    if (!m) return;
    m.zones.clearLayers();
    const editing = props.draft?.mode === 'edit' ? props.draft.zoneId : undefined;
    for (const z of props.zones) {
      if (z.id === editing) continue;
      const using = props.rules.filter((r) => r.zone === z.id);
      const active = using.some((r) => r.enabled);
      const poly = L.polygon(zoneLatLngs(z), { ...(active ? ZONE_STYLE : IDLE_STYLE), renderer: m.svg, className: `dw-zone dw-zone-${z.id}${active ? '' : ' idle'}` });
      poly.bindTooltip(props.text.zoneTooltip(z, using), { sticky: true });
      poly.on('click', () => latest.current.onSelectZone(z.id));
      m.zones.addLayer(poly);
    }
  }, [props.zones, props.rules, props.draft?.mode, props.draft?.zoneId]);

  // The shape being drawn or reshaped, and its points.
  useEffect(() => {
    const m = mapRef.current;
    if (!m) return;
    m.draft.clearLayers();
    const d = props.draft;
    m.map.getContainer().classList.toggle('drawing', d?.mode === 'draw' && !d.closed);
    if (d?.mode === 'draw' && !d.closed) m.map.doubleClickZoom.disable();
    else m.map.doubleClickZoom.enable();
    if (!d || d.points.length === 0) return;
    const shape = d.closed || d.mode === 'edit'
      ? L.polygon(d.points, { ...DRAFT_STYLE, renderer: m.svg, className: 'dw-draft', interactive: false })
      : L.polyline(d.points, { ...DRAFT_STYLE, renderer: m.svg, className: 'dw-draft', interactive: false });
    m.draft.addLayer(shape);
    d.points.forEach((p, i) => {
      const first = i === 0 && d.mode === 'draw' && !d.closed && d.points.length >= 3;
      const selected = props.selectedVertex === i;
      const marker = L.marker(p, {
        draggable: d.mode === 'edit',
        keyboard: true,
        title: props.text.vertex(i + 1),
        icon: L.divIcon({ className: `dw-vertex${first ? ' closer' : ''}${selected ? ' selected' : ''}`, iconSize: first ? [18, 18] : [14, 14] }),
        bubblingMouseEvents: false,
      });
      marker.on('click', () => {
        const cur = latest.current.draft;
        if (cur?.mode === 'draw' && !cur.closed) {
          if (i === 0 && cur.points.length >= 3) latest.current.onClose();
        } else latest.current.onSelectVertex(i);
      });
      // The outline follows the point while it is dragged; the page learns the new position when it is dropped.
      marker.on('drag', () => {
        const ll = marker.getLatLng();
        const pts = (latest.current.draft?.points ?? []).map((q, k): LatLon => (k === i ? [ll.lat, ll.lng] : q));
        (shape as L.Polygon).setLatLngs(pts);
      });
      marker.on('dragend', () => {
        const ll = marker.getLatLng();
        latest.current.onMovePoint(i, [ll.lat, ll.lng]);
      });
      m.draft.addLayer(marker);
      marker.getElement()?.setAttribute('data-vertex', String(i));
    });
  }, [props.draft, props.selectedVertex]);

  // Fit the map to a zone chosen for reshaping, so its points can be reached.
  useEffect(() => {
    const m = mapRef.current;
    const d = props.draft;
    if (!m || d?.mode !== 'edit' || d.points.length === 0) return;
    const b = L.latLngBounds(d.points);
    if (!m.map.getBounds().contains(b)) m.map.fitBounds(b.pad(0.5), { maxZoom: 16 });
  }, [props.draft?.zoneId]);

  return <div ref={ref} class="map zone-map" role="region" aria-label={props.text.region} />;
}

