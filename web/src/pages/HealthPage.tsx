import { useMemo } from 'preact/hooks';
import { Chart, type ChartSpec } from '../components/Chart.tsx';
import { formatAge, formatDateTime, formatNumber } from '../lib/format.ts';
import { useModel } from '../lib/observable.ts';
import { alertsModel } from '../state/alerts.ts';
import { authModel } from '../state/auth.ts';
import { fleetModel } from '../state/fleet.ts';

/** Fleet health: reports per second, lag of every consumer group, silent drones. Live from /v1/fleet/stream. */
export function HealthPage() {
  const version = useModel(fleetModel);
  const h = fleetModel.health;
  // Redraw the chart every 5 s, not on every health event: a chart rebuild per second is wasted work.
  const bucket = Math.floor(version / 5);
  const chart = useMemo<ChartSpec>(() => ({
    kind: 'line',
    x: { label: 'time', type: 'time', values: [...fleetModel.history.t] },
    series: [{ label: 'reports/s', values: [...fleetModel.history.rps] }],
  }), [bucket]);
  const lagChart = useMemo<ChartSpec>(() => ({
    kind: 'line',
    x: { label: 'time', type: 'time', values: [...fleetModel.history.t] },
    series: Object.entries(fleetModel.history.lag).map(([g, v]) => ({ label: `${g} lag`, values: [...v] })),
  }), [bucket]);
  return (
    <div class="page health-page">
      <h1>Fleet health</h1>
      <p class="lede">
        Live from the <code>reports</code> topic ({fleetModel.connected ? 'connected' : 'reconnecting…'}).{' '}
        {h && <span class="newest-report">{newestReport(h.newestTs, h.at)}</span>}
      </p>
      <div class="kpis">
        <div class="kpi"><span class="kpi-label">Reports per second</span><span class="kpi-value" data-kpi="rps">{h ? formatNumber(h.reportsPerSecond) : '…'}</span></div>
        <div class="kpi"><span class="kpi-label">Drones seen</span><span class="kpi-value" data-kpi="drones">{h ? formatNumber(h.drones) : '…'}</span></div>
        <div class={`kpi ${h && h.silentCount > 0 ? 'warn' : ''}`}><span class="kpi-label">Silent drones</span><span class="kpi-value" data-kpi="silent">{h ? formatNumber(h.silentCount) : '…'}</span></div>
        <div class={`kpi ${h?.overloaded ? 'bad' : ''}`}><span class="kpi-label">Ingestion</span><span class="kpi-value">{h ? (h.overloaded ? 'overloaded' : 'ok') : '…'}</span></div>
        {authModel.can('alerts:read') && <div class="kpi"><span class="kpi-label">Alert feed</span><span class="kpi-value">{alertsModel.connected ? 'live' : 'down'}</span></div>}
      </div>
      <section class="panel" aria-labelledby="rate-title">
        <h2 id="rate-title">Reports per second</h2>
        <Chart spec={chart} title="Reports per second (last 5 minutes)" height={220} />
      </section>
      <section class="panel" aria-labelledby="lag-title">
        <h2 id="lag-title">Consumer lag</h2>
        <p class="hint">Reports each consumer group has not processed yet. Ingestion pushes back (HTTP 503) when alerts or archive fall too far behind.</p>
        <table class="data compact lag-table">
          <thead><tr><th scope="col">Consumer group</th><th scope="col" class="num">Unprocessed reports</th></tr></thead>
          <tbody>
            {Object.entries(h?.consumers ?? {}).map(([g, lag]) => (
              <tr key={g} data-group={g}><th scope="row">{g}</th><td class="num">{lag < 0 ? '…' : formatNumber(lag)}</td></tr>
            ))}
          </tbody>
        </table>
        {lagChart.series.length > 0 && <Chart spec={lagChart} title="Consumer lag (last 5 minutes)" height={200} />}
      </section>
      <section class="panel" aria-labelledby="silent-title">
        <h2 id="silent-title">Silent drones</h2>
        <p class="hint">
          No report for more than {h ? formatAge(h.silentAfterMs) : '…'} (of report time behind the fleet's newest report, or of wall-clock time).
          {h && h.silentCount > h.silent.length ? ` The ${h.silent.length} longest silent of ${h.silentCount}.` : ''}
        </p>
        {h && h.silent.length === 0 ? <p>None: every drone reports.</p> : (
          <table class="data compact silent-table">
            <thead><tr><th scope="col">Drone</th><th scope="col">Silent for</th><th scope="col">Last report</th><th scope="col">Last position</th></tr></thead>
            <tbody>
              {(h?.silent ?? []).map((s) => (
                <tr key={s.droneId}>
                  <th scope="row">{s.droneId}</th><td>{formatAge(s.silentForMs)}</td><td>{formatDateTime(s.lastTs)}</td>
                  <td class="num">{s.lat.toFixed(4)}, {s.lon.toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

/**
 * The newest report's time, said for what it is: the drones' clock. During a replay or a backfill it is hours behind
 * the wall clock, and read as "now" it would mislead; so the gap is said when it is over two minutes.
 */
export function newestReport(newestTs: number, at: number): string {
  if (!newestTs) return 'No report read yet.';
  const behind = at - newestTs;
  const when = formatDateTime(newestTs);
  if (behind > 120_000) return `Newest report time: ${when}, ${formatAge(behind)} behind the clock: the reports are replayed or arriving late, so report times are not the present.`;
  if (behind < -120_000) return `Newest report time: ${when}, ${formatAge(-behind)} ahead of the clock (a drone's clock is wrong).`;
  return `Newest report time: ${when} (current).`;
}
