import { Component } from 'preact';
import { useState } from 'preact/hooks';
import { formatAge, formatDateTime } from '../lib/format.ts';
import { useModel, useNow } from '../lib/observable.ts';
import type { Incident } from '../lib/types.ts';
import { authModel } from '../state/auth.ts';
import { incidentsModel } from '../state/incidents.ts';

/** Rows rendered at most; the model keeps up to 200. */
const MAX_ROWS = 60;
const SEVERITY_LABEL: Record<string, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

const noun = (n: number, one: string): string => (n === 1 ? one : `${one}s`);
const plural = (n: number, one: string): string => `${n} ${noun(n, one)}`;

/**
 * The incident feed, first on the live page: alerts grouped by place and time (docs/incidents.md), spreading ones on
 * top, then by severity and growth. Tick several and acknowledge them at once; a row's "Map" button shows its area.
 * Spreading is the only cue styled to demand attention (a labelled badge and outline, announced in the header); growing
 * is plain text, so the list does not turn into a wall of red.
 */
export function IncidentFeed({ officer }: { officer: string }) {
  useModel(incidentsModel);
  const now = useNow(1000);
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<string | null>(null);
  const all = incidentsModel.list();
  const rows = all.slice(0, MAX_ROWS);
  const spreading = all.filter((i) => i.growth.spreading).length;
  const checked = incidentsModel.checked.size;
  const canAct = authModel.can('alerts:act');
  const openCount = all.filter((i) => i.status === 'open').length;

  const ackChecked = async (): Promise<void> => {
    setBusy(true);
    setOutcome(null);
    try {
      const r = await incidentsModel.acknowledgeChecked(officer);
      setOutcome(`${plural(r.acknowledged, 'incident')} acknowledged (${plural(r.alertsChanged, 'alert')})`
        + (r.failed.length ? `; ${r.failed.length} refused: ${r.failed.map((f) => f.message).join('; ')}` : ''));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="panel incident-feed" aria-labelledby="incidents-title">
      <div class="panel-head">
        <h2 id="incidents-title">Incidents</h2>
        <span class="incident-summary" role="status">
          {spreading > 0 && <strong class="spreading-count">{spreading} spreading</strong>}
          {spreading > 0 && ' · '}
          {incidentsModel.loading && all.length === 0 ? 'Loading…' : `${all.length} live`}
        </span>
      </div>
      {canAct && (
        <div class="bulk">
          <label class="inline">
            <input type="checkbox" checked={checked > 0 && checked === openCount} disabled={openCount === 0}
              onChange={(e) => incidentsModel.checkAllOpen((e.target as HTMLInputElement).checked)} />
            All open
          </label>
          <button type="button" class="primary small bulk-ack" disabled={checked === 0 || busy || !officer}
            title={officer ? undefined : 'Type your name in the top bar first'} onClick={() => void ackChecked()}>
            {busy ? 'Acknowledging…' : `Acknowledge selected (${checked})`}
          </button>
          {outcome && <span class="bulk-outcome" role="status">{outcome}</span>}
        </div>
      )}
      {incidentsModel.error && <p class="error" role="alert">{incidentsModel.error}</p>}
      {all.length === 0 && !incidentsModel.loading && <p class="hint">No live incident.</p>}
      <ol class="incident-list" aria-label="Incidents, spreading first, then by severity and growth">
        {rows.map((i) => <IncidentRow key={i.incidentId} incident={i} opened={formatAge(now - i.openedAt)} canAct={canAct}
          checked={incidentsModel.checked.has(i.incidentId)} focused={incidentsModel.focused === i.incidentId} />)}
      </ol>
      {all.length > MAX_ROWS && <p class="hint">{all.length - MAX_ROWS} more below these (the quietest).</p>}
    </section>
  );
}

interface RowProps { incident: Incident; opened: string; canAct: boolean; checked: boolean; focused: boolean }

/** One incident; re-renders only when what it shows changed (the clock ticks every second, events come in bursts). */
class IncidentRow extends Component<RowProps> {
  override shouldComponentUpdate(n: RowProps): boolean {
    const p = this.props;
    return p.incident !== n.incident || p.opened !== n.opened || p.canAct !== n.canAct || p.checked !== n.checked || p.focused !== n.focused;
  }

  override render(props: RowProps) {
    return incidentRow(props);
  }
}

function incidentRow({ incident: i, opened, canAct, checked, focused }: RowProps) {
  // How long it has been going on (report time: right in a 60x replay too); `opened`: how long ago (wall clock).
  const span = formatAge(i.lastAt - i.firstAt);
  const counts = `${plural(i.citizenCount, 'citizen')}, ${plural(i.droneCount, 'drone')}, ${plural(i.alertCount, 'alert')}`;
  const growth = i.growth.spreading ? 'spreading' : i.growing ? `growing, ${i.growth.citizensPerMinute.toFixed(1)} new a minute` : 'steady';
  const label = `${SEVERITY_LABEL[i.severity]} incident, ${counts}, ${growth}, ${i.status}`;
  return (
    <li data-incident-id={i.incidentId} data-status={i.status} data-spreading={i.growth.spreading ? 'true' : undefined}
      class={`incident sev-${i.severity} status-${i.status}${i.growth.spreading ? ' spreading' : ''}${focused ? ' focused' : ''}`}>
      {canAct && (
        <input type="checkbox" class="incident-check" checked={checked} disabled={i.status !== 'open'}
          aria-label={`Select for acknowledgement: ${label}`}
          onChange={(e) => incidentsModel.setChecked(i.incidentId, (e.target as HTMLInputElement).checked)} />
      )}
      <button type="button" class="incident-show" aria-pressed={focused} aria-label={`Show on the map: ${label}`}
        onClick={() => incidentsModel.focus(focused ? null : i.incidentId)}>
        <span class={`sev-badge sev-${i.severity}`}>{SEVERITY_LABEL[i.severity]}</span>
        <span class="incident-counts">
          <b class="n-citizens">{i.citizenCount}</b> {noun(i.citizenCount, 'citizen')} · <b class="n-drones">{i.droneCount}</b> {noun(i.droneCount, 'drone')}
          {' · '}<b class="n-alerts">{i.alertCount}</b> {noun(i.alertCount, 'alert')}
        </span>
        {i.growth.spreading
          ? <span class="spreading-badge">▲ Spreading</span>
          : <span class={`growth ${i.growing ? 'growing' : 'steady'}`}>{i.growing ? `growing +${i.growth.citizensPerMinute.toFixed(1)}/min` : 'steady'}</span>}
        <span class="incident-age" title={`first seen ${formatDateTime(i.firstAt)}, latest ${formatDateTime(i.lastAt)}`}>
          for {span} · opened {opened} ago
        </span>
        <span class={`status-badge status-${i.status}`}>{i.status}{i.assignee ? ` · ${i.assignee}` : ''}</span>
      </button>
    </li>
  );
}
