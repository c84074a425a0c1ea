import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Chart, drawable } from '../components/Chart.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { HeatMap, type HeatCell } from '../components/HeatMap.tsx';
import { ApiError, download, getJson } from '../lib/api.ts';
import { TIME_ZONE, toLocalInput } from '../lib/format.ts';
import type { DashboardConfig, QueryResult, StatInfo } from '../lib/types.ts';
import { chartForStat } from './stat-charts.ts';

type Preset = 'all' | '1h' | '24h' | '7d' | '30d' | 'custom';
const PRESETS: [Preset, string, number][] = [['all', 'Whole lake', 0], ['1h', 'Last hour', 3600_000], ['24h', 'Last 24 hours', 86400_000], ['7d', 'Last 7 days', 7 * 86400_000], ['30d', 'Last 30 days', 30 * 86400_000], ['custom', 'Custom', 0]];
const OPTION_LABELS: Record<string, { label: string; placeholder: string; step: string }> = {
  cell: { label: 'Cell size (degrees)', placeholder: '0.005', step: '0.001' },
  minutes: { label: 'Gap longer than (minutes)', placeholder: '10', step: '1' },
  limit: { label: 'Rows', placeholder: '20', step: '1' },
};

/**
 * The ready-made statistics (GET /v1/stats): pick one, a time range and its options; see it as a chart (or a heat
 * map for hotspots) and a table; export it as CSV or Parquet (the server streams the file).
 */
export function StatsPage({ config }: { config: DashboardConfig }) {
  const [stats, setStats] = useState<StatInfo[]>([]);
  const [name, setName] = useState(() => new URLSearchParams(location.hash.split('?')[1] ?? '').get('stat') ?? 'alerts-by-hour');
  const [preset, setPreset] = useState<Preset>('all');
  const [from, setFrom] = useState(toLocalInput(Date.now() - 86400_000));
  const [to, setTo] = useState(toLocalInput(Date.now() + 60_000));
  const [options, setOptions] = useState<Record<string, string>>({});
  const [result, setResult] = useState<{ name: string; r: QueryResult; params: URLSearchParams } | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [exporting, setExporting] = useState<string | null>(null);

  useEffect(() => {
    getJson<{ stats: StatInfo[] }>('/v1/stats').then((s) => setStats(s.stats), (e: Error) => setError(e.message));
  }, []);
  const stat = stats.find((s) => s.name === name);
  const numberOptions = (stat?.options ?? []).filter((o) => o !== 'tz');

  const params = (): URLSearchParams => {
    const q = new URLSearchParams();
    if (preset === 'custom') {
      if (from) q.set('from', new Date(from).toISOString());
      if (to) q.set('to', new Date(to).toISOString());
    } else if (preset !== 'all') {
      const ms = PRESETS.find((p) => p[0] === preset)![2];
      q.set('from', new Date(Date.now() - ms).toISOString());
    }
    for (const o of stat?.options ?? []) if (o !== 'tz' && options[o]?.trim()) q.set(o, options[o]!.trim());
    // Hours and days on the officer's clock (the browser's time zone), not UTC.
    if (stat?.options.includes('tz')) q.set('tz', TIME_ZONE);
    return q;
  };

  const running = useRef<AbortController | null>(null);
  // A new run replaces the one in flight (aborting it makes the server interrupt its query): only the last answer shows.
  const run = async (): Promise<void> => {
    if (!stat) return;
    const q = params();
    running.current?.abort();
    const ac = new AbortController();
    running.current = ac;
    setBusy(true);
    setError(null);
    try {
      const r = await getJson<QueryResult>(`/v1/stats/${encodeURIComponent(stat.name)}?${q}&format=json`, ac.signal);
      if (running.current === ac) setResult({ name: stat.name, r, params: q });
    } catch (e) {
      if (running.current !== ac) return;
      setError(e instanceof ApiError ? `${e.message} (${e.code})` : String(e));
      setResult(null);
    } finally {
      if (running.current === ac) {
        running.current = null;
        setBusy(false);
      }
    }
  };
  useEffect(() => {
    if (stat) void run();
  }, [stat?.name, preset]);

  const exportAs = async (format: 'csv' | 'parquet'): Promise<void> => {
    if (!stat) return;
    setExporting(format);
    try {
      const q = params();
      q.set('format', format);
      q.set('download', 'true');
      await download(`/v1/stats/${encodeURIComponent(stat.name)}?${q}`, {}, `${stat.name}.${format}`);
    } catch (e) {
      setError(`Export failed: ${(e as Error).message}`);
    } finally {
      setExporting(null);
    }
  };

  // Grid statistics are drawn on the map, valued by their count column.
  const heatValue = result ? HEAT_STATS[result.name] : undefined;
  const chart = useMemo(() => (result && !heatValue ? chartForStat(result.name, result.r) : null), [result, heatValue]);
  const heat = useMemo<HeatCell[] | null>(() => {
    if (!result || !heatValue) return null;
    const [la, lo, n] = ['cell_lat', 'cell_lon', heatValue].map((c) => result.r.columns.indexOf(c));
    return result.r.rows.map((row) => ({ lat: Number(row[la!]), lon: Number(row[lo!]), value: Number(row[n!]) }));
  }, [result, heatValue]);
  const cellSize = Number(result?.params.get('cell') ?? '0.005') || 0.005;

  return (
    <div class="page stats-page">
      <h1>Statistics</h1>
      <form class="stat-form panel" onSubmit={(e) => { e.preventDefault(); void run(); }}>
        <label class="stat-pick">
          Statistic
          <select value={name} onChange={(e) => { setName((e.target as HTMLSelectElement).value); setOptions({}); }} aria-describedby="stat-question">
            {stats.map((s) => <option key={s.name} value={s.name}>{s.name}</option>)}
          </select>
        </label>
        <p id="stat-question" class="question">{stat?.description ?? ''}</p>
        <fieldset class="range">
          <legend>Time range</legend>
          <label>
            Period
            <select value={preset} onChange={(e) => setPreset((e.target as HTMLSelectElement).value as Preset)}>
              {PRESETS.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
            </select>
          </label>
          {preset === 'custom' && (
            <>
              <label>From <input type="datetime-local" value={from} onChange={(e) => setFrom((e.target as HTMLInputElement).value)} /></label>
              <label>To <input type="datetime-local" value={to} onChange={(e) => setTo((e.target as HTMLInputElement).value)} /></label>
            </>
          )}
        </fieldset>
        {numberOptions.length > 0 && (
          <fieldset class="options">
            <legend>Options</legend>
            {numberOptions.map((o) => (
              <label key={o}>
                {OPTION_LABELS[o]?.label ?? o}
                <input type="number" inputMode="decimal" min="0" step={OPTION_LABELS[o]?.step ?? 'any'} placeholder={OPTION_LABELS[o]?.placeholder}
                  value={options[o] ?? ''} onInput={(e) => setOptions({ ...options, [o]: (e.target as HTMLInputElement).value })} />
              </label>
            ))}
          </fieldset>
        )}
        <div class="buttons">
          <button type="submit" class="primary" disabled={!stat} aria-describedby="stat-busy">Run</button>
          <span id="stat-busy" class="hint" role="status">{busy ? 'Running…' : ''}</span>
          <button type="button" onClick={() => void exportAs('csv')} disabled={!stat || exporting !== null}>{exporting === 'csv' ? 'Exporting…' : 'Export CSV'}</button>
          <button type="button" onClick={() => void exportAs('parquet')} disabled={!stat || exporting !== null}>{exporting === 'parquet' ? 'Exporting…' : 'Export Parquet'}</button>
        </div>
      </form>
      {error && <p class="error" role="alert">{error}</p>}
      {result && (
        <section class="panel stat-result" aria-labelledby="stat-result-title" data-stat={result.name}>
          <h2 id="stat-result-title">{result.name}</h2>
          <p class="hint" role="status">
            {result.r.rowCount} rows{result.r.truncated ? ' (truncated)' : ''}
            {result.r.elapsedMs !== null ? ` in ${result.r.elapsedMs} ms` : ''}. The lake is a few seconds behind the live feed.
          </p>
          <p class="hint stat-time" data-tz={result.params.get('tz') ?? ''}>{timeNote(result.name, result.params.get('tz'))}</p>
          {heat ? (heat.length > 0 ? <HeatMap config={config} cells={heat} cellSize={cellSize} label={heatValue!} /> : <p>No {heatValue} in this period.</p>)
            : chart && drawable(chart) ? <Chart spec={chart} title={stat?.description ?? result.name} /> : <p class="hint">Nothing to chart in this period.</p>}
          <DataTable columns={result.r.columns} columnTypes={result.r.columnTypes} rows={result.r.rows} caption={`Result of ${result.name}`} />
        </section>
      )}
    </div>
  );
}

/** The statistics drawn as a heat map, and the column that values each cell. */
const HEAT_STATS: Record<string, string> = { hotspots: 'alerts', 'incident-areas': 'incidents' };

/** Which time a statistic counts by, and on which clock (docs/analysis.md): said under every result. */
function timeNote(name: string, tz: string | null): string {
  const clock = tz ? ` Hours and days are those of the ${tz} clock (this browser's time zone).` : '';
  if (name === 'incident-ack-time' || name === 'incident-growth') return `Grouped by the time each incident was opened (the officers' work starts then).${clock}`;
  if (name.startsWith('incident')) return `Incidents are counted at the time of the report of their first sighting; merged incidents count in the one that absorbed them.${clock}`;
  if (name === 'reaction-time') return `Grouped by the time each alert was raised (the officers' work starts then).${clock}`;
  if (name === 'alerts-by-rule-version') return `Grouped by the time each alert was raised, under the rule version that raised it (the rules in force then); no version: raised before rules were versioned.${clock}`;
  if (/^(alerts-|citizens-most|hotspots|top-drones|day-periods)/.test(name)) return `Alerts are counted at the time of the report that raised them (when the person was seen), not when the platform raised them.${clock}`;
  return `Counted by the time of each report (the drone's clock).${clock}`;
}
