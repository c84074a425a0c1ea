import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { columnDecimals } from '../../../src/util/decimals.ts';
import { formatCell, formatDateTime, formatNumber, formatTick } from '../lib/format.ts';

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

/** A series whose largest value is under a tenth of the largest series' goes on its own axis (right). */
const OWN_AXIS_RATIO = 10;
/** The widest a bar is drawn, in CSS pixels: one bar alone on a wide chart stays a bar, centred on its tick. */
const MAX_BAR_PX = 60;
/** Tick steps of a time axis, in seconds; a chart never ticks more finely than its data (hourly data: hours). */
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400, 91 * 86400, 182 * 86400, 365 * 86400];

function seriesMax(values: readonly (number | null)[]): number {
  let m = 0;
  for (const v of values) if (v !== null && Number.isFinite(v)) m = Math.max(m, Math.abs(v));
  return m;
}

/**
 * Which axis each series is drawn against: 'y' (left) for the largest series and those of its magnitude, 'y2'
 * (right) for series ten times smaller or more (100 alerts beside 22,000 reports would be a flat line on one axis).
 */
export function axesOf(spec: ChartSpec): ('y' | 'y2')[] {
  const maxes = spec.series.map((s) => seriesMax(s.values));
  const top = Math.max(0, ...maxes);
  return maxes.map((m) => (top > 0 && m > 0 && m * OWN_AXIS_RATIO <= top ? 'y2' : 'y'));
}

/** The smallest gap between two x values (the data's own step), for a time axis' finest tick. */
function dataStep(xs: readonly number[]): number {
  const sorted = [...xs].filter(Number.isFinite).sort((a, b) => a - b);
  let step = Infinity;
  for (let i = 1; i < sorted.length; i++) if (sorted[i]! > sorted[i - 1]!) step = Math.min(step, sorted[i]! - sorted[i - 1]!);
  return step;
}

/**
 * A uPlot chart sized to its container. Bars are grouped side by side when there are several series (uPlot draws one
 * bar per series per x, placed with its `disp` option), centred on their tick. Series of very different magnitudes get
 * an axis each (left and right, named after their series). Times are on a 24-hour clock, ticked no finer than the
 * data. The legend shows the values under the cursor, and only the series names when the cursor is elsewhere. The chart
 * is a picture (role img, with a text summary): the table shown with it carries the numbers for keyboard and
 * screen-reader users.
 */
export function Chart({ spec, title, height = 280 }: { spec: ChartSpec; title: string; height?: number }) {
  const ref = useRef<HTMLDivElement>(null);
  const axes = axesOf(spec);
  useEffect(() => {
    const el = ref.current;
    if (!el || !drawable(spec)) return;
    const categories = spec.x.type === 'category' ? spec.x.values.map(String) : null;
    const xs = categories ? categories.map((_, i) => i) : spec.x.values.map(Number);
    const n = spec.series.length;
    const decimals = spec.series.map((s) => columnDecimals(s.values));
    // Bar geometry in x-scale units (1 = one category), from the chart's current width: the group is 80 % of a
    // category, at most MAX_BAR_PX per bar, centred on the tick.
    const groupOf = (u: uPlot): number => {
      const catPx = Math.abs(u.valToPos(1, 'x') - u.valToPos(0, 'x'));
      return catPx > 0 ? Math.min(0.8, (MAX_BAR_PX * n) / catPx) : 0.8;
    };
    const series: uPlot.Series[] = [
      {
        label: spec.x.label,
        value: (_u: uPlot, v: number | null) => (v === null ? '' : categories ? categories[v] ?? '' : spec.x.type === 'time' ? formatDateTime(v * 1000) : formatNumber(v)),
      },
      ...spec.series.map((s, k): uPlot.Series => {
        const color = PALETTE[k % PALETTE.length]!;
        const value = (_u: uPlot, v: number | null): string => (v === null ? '–' : formatCell(v, decimals[k]));
        if (spec.kind === 'line') return { label: s.label, scale: axes[k], stroke: color, width: 2, value, points: { show: xs.length < 60 } };
        return {
          label: s.label,
          scale: axes[k],
          stroke: color,
          fill: `${color}cc`,
          width: 0,
          value,
          paths: uPlot.paths.bars!({
            size: [0.8, Infinity],
            disp: {
              x0: { unit: 1, values: (u) => { const g = groupOf(u); return (u.data[0] as number[]).map((x) => x - g / 2 + (k * g) / n); } },
              size: { unit: 1, values: (u) => { const g = groupOf(u); return (u.data[0] as number[]).map(() => g / n); } },
            },
          }),
          points: { show: false },
        };
      }),
    ];
    const longLabels = categories ? Math.max(...categories.map((c) => c.length)) > 6 || categories.length > 12 : false;
    const step = spec.x.type === 'time' ? dataStep(xs) : Infinity;
    const timeIncrs = Number.isFinite(step) ? TIME_STEPS.filter((s) => s >= step * 0.999) : TIME_STEPS;
    const yRange = (_u: uPlot, min: number, max: number): uPlot.Range.MinMax => [Math.min(0, min), max > 0 ? max * 1.08 : 1];
    const twoAxes = axes.includes('y2');
    const axisLabel = (a: 'y' | 'y2'): string => spec.series.filter((_s, k) => axes[k] === a).map((s) => s.label).join(', ');
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      title,
      series,
      scales: {
        x: categories
          ? { time: false, range: () => [-0.5, Math.max(0.5, categories.length - 0.5)] }
          : { time: spec.x.type === 'time', ...(spec.kind === 'bar' ? { range: (_u: uPlot, min: number, max: number) => padRange(min, max) } : {}) },
        y: { range: yRange },
        ...(twoAxes ? { y2: { range: yRange } } : {}),
      },
      axes: [
        categories
          ? {
              splits: () => xs.filter((i) => i % Math.max(1, Math.ceil(categories.length / 40)) === 0),
              values: (_u, splits) => splits.map((i) => truncate(categories[i] ?? '', 18)),
              ...(longLabels ? { rotate: -45, size: 90 } : {}),
              grid: { show: false },
            }
          : spec.x.type === 'time'
            ? { incrs: timeIncrs, values: (_u, splits, _ax, _space, incr) => splits.map((v, i) => formatTick(v, incr, i === 0)) }
            : {},
        { scale: 'y', size: 60, ...(twoAxes ? { label: axisLabel('y'), labelSize: 20 } : {}) },
        ...(twoAxes ? [{ scale: 'y2', side: 1, size: 60, label: axisLabel('y2'), labelSize: 20, grid: { show: false } } satisfies uPlot.Axis] : []),
      ],
      legend: { show: true },
      cursor: { drag: { x: spec.x.type !== 'category', y: false } },
      hooks: {
        // Without a point under the cursor the legend has no values to show: show the names alone, not "--".
        setLegend: [(u) => u.root.classList.toggle('no-cursor', u.legend.idx === null || u.legend.idx === undefined)],
      },
    };
    const data: uPlot.AlignedData = [xs, ...spec.series.map((s) => s.values.map((v) => (v === null || !Number.isFinite(v) ? null : v)))];
    const plot = new uPlot(opts, data, el);
    plot.root.classList.add('no-cursor');
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.destroy();
    };
  }, [spec, title, height]);
  const right = spec.series.filter((_s, k) => axes[k] === 'y2').map((s) => s.label);
  const summary = `${title}: ${spec.kind} chart of ${spec.series.map((s) => s.label).join(', ')} by ${spec.x.label}, ${spec.x.values.length} points${right.length ? ` (${right.join(', ')} on the right-hand axis)` : ''}`;
  return <div ref={ref} class="chart" role="img" aria-label={summary} data-axes={axes.join(',')} />;
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
