import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

/** Okabe-Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000'];

export interface ChartSpec {
  kind: 'bar' | 'line';
  /** x values: category labels, epoch seconds (`time`), or plain numbers. */
  x: { label: string; type: 'category' | 'time' | 'number'; values: (string | number)[] };
  series: { label: string; values: (number | null)[] }[];
}

/** Whether the spec can be drawn at all (at least one point with a number). */
export function drawable(spec: ChartSpec): boolean {
  return spec.x.values.length > 0 && spec.series.some((s) => s.values.some((v) => v !== null && Number.isFinite(v)));
}

/**
 * A uPlot chart sized to its container. Bars are grouped side by side when there are several series (uPlot draws one
 * bar per series per x, placed with its `disp` option). The chart is a picture (role img, with a text summary):
 * the table shown with it carries the numbers for keyboard and screen-reader users.
 */
export function Chart({ spec, title, height = 280 }: { spec: ChartSpec; title: string; height?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || !drawable(spec)) return;
    const categories = spec.x.type === 'category' ? spec.x.values.map(String) : null;
    const xs = categories ? categories.map((_, i) => i) : spec.x.values.map(Number);
    const n = spec.series.length;
    const groupWidth = 0.8;
    const barWidth = groupWidth / n;
    const series: uPlot.Series[] = [
      { label: spec.x.label, ...(categories ? { value: (_u: uPlot, v: number) => categories[v] ?? '' } : {}) },
      ...spec.series.map((s, k): uPlot.Series => {
        const color = PALETTE[k % PALETTE.length]!;
        if (spec.kind === 'line') return { label: s.label, stroke: color, width: 2, points: { show: xs.length < 60 } };
        return {
          label: s.label,
          stroke: color,
          fill: `${color}cc`,
          width: 0,
          paths: uPlot.paths.bars!({
            size: [groupWidth, 80],
            // One group of n bars per x value, bar k offset within the group (in x-scale units: 1 = one category).
            disp: {
              x0: { unit: 1, values: (u) => (u.data[0] as number[]).map((x) => x - groupWidth / 2 + k * barWidth) },
              size: { unit: 1, values: (u) => (u.data[0] as number[]).map(() => barWidth) },
            },
          }),
          points: { show: false },
        };
      }),
    ];
    const longLabels = categories ? Math.max(...categories.map((c) => c.length)) > 6 || categories.length > 12 : false;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      title,
      series,
      scales: {
        x: categories
          ? { time: false, range: () => [-0.5, Math.max(0.5, categories.length - 0.5)] }
          : { time: spec.x.type === 'time', ...(spec.kind === 'bar' ? { range: (_u: uPlot, min: number, max: number) => padRange(min, max) } : {}) },
        y: { range: (_u, min, max) => [Math.min(0, min), max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        categories
          ? {
              splits: () => xs.filter((i) => i % Math.max(1, Math.ceil(categories.length / 40)) === 0),
              values: (_u, splits) => splits.map((i) => truncate(categories[i] ?? '', 18)),
              ...(longLabels ? { rotate: -45, size: 90 } : {}),
              grid: { show: false },
            }
          : {},
        { size: 60 },
      ],
      legend: { show: true },
      cursor: { drag: { x: spec.x.type !== 'category', y: false } },
    };
    const data: uPlot.AlignedData = [xs, ...spec.series.map((s) => s.values.map((v) => (v === null || !Number.isFinite(v) ? null : v)))];
    const plot = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [spec, title, height]);
  const summary = `${title}: ${spec.kind} chart of ${spec.series.map((s) => s.label).join(', ')} by ${spec.x.label}, ${spec.x.values.length} points`;
  return <div ref={ref} class="chart" role="img" aria-label={summary} />;
}

function padRange(min: number, max: number): [number, number] {
  const pad = max > min ? (max - min) * 0.03 : 1;
  return [min - pad, max + pad];
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** Builds a chart from a query result: x is one column, each y a numeric column. Times become epoch seconds. */
export function chartFromResult(columns: string[], columnTypes: string[], rows: unknown[][], xCol: string, yCols: string[], kind: 'bar' | 'line'): ChartSpec {
  const xi = columns.indexOf(xCol);
  const xType = columnTypes[xi] ?? '';
  const isTime = /^(DATE|TIMESTAMP)/i.test(xType);
  const isNumber = isNumericType(xType);
  // Bars are always drawn over categories (one slot per row), lines over a time or number axis when x is one.
  const type: ChartSpec['x']['type'] = kind === 'bar' ? 'category' : isTime ? 'time' : isNumber ? 'number' : 'category';
  const x = rows.map((r) => {
    const v = r[xi];
    if (type === 'time') return typeof v === 'number' ? v / 1000 : Date.parse(String(v)) / 1000;
    if (type === 'number') return Number(v);
    if (v === null || v === undefined) return 'NULL';
    // "2026-11-27T08:00:00.000Z" -> "2026-11-27 08:00": readable under a bar.
    if (isTime && typeof v === 'string') return v.replace('T', ' ').replace(/:00(\.000)?Z$|(\.\d+)?Z$/, '').replace(/ 00:00$/, '');
    return String(v);
  });
  return {
    kind,
    x: { label: xCol, type, values: x },
    series: yCols.map((c) => {
      const i = columns.indexOf(c);
      return { label: c, values: rows.map((r) => toNumber(r[i])) };
    }),
  };
}

export function isNumericType(t: string): boolean {
  return /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|REAL|DECIMAL)/i.test(t);
}

function toNumber(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}
