import { Component } from 'preact';
import { useRef, useState } from 'preact/hooks';
import { formatAge, formatTime } from '../lib/format.ts';
import { useModel, useNow } from '../lib/observable.ts';
import type { Alert } from '../lib/types.ts';
import { alertsModel, type AreaFilter, type StatusFilter } from '../state/alerts.ts';

/** Rows rendered at most; the model keeps more (the map shows up to 500). */
const MAX_ROWS = 100;
/** A new alert is highlighted this long. */
const FRESH_MS = 8000;

const SEVERITY_LABEL: Record<string, string> = { critical: 'Critical', warning: 'Warning', info: 'Info' };

/** The alert feed: newest first, filters by status, drone and map area; a row opens the alert's details. */
export function AlertFeed() {
  useModel(alertsModel);
  const now = useNow(1000);
  const f = alertsModel.filters;
  const [drone, setDrone] = useState(f.droneId);
  const all = alertsModel.list();
  const latest = all.slice(0, MAX_ROWS);
  const selectedId = alertsModel.selected?.alertId;
  // While the pointer is over the list or the focus is in it, the rows hold still: new alerts wait behind a button
  // instead of pushing the row the officer is about to click (at several alerts a second the list never rests).
  const [frozen, setFrozen] = useState<string[] | null>(null);
  const hold = useRef({ hover: false, focus: false });
  const listRef = useRef<HTMLOListElement>(null);
  const update = (): void => {
    const held = hold.current.hover || hold.current.focus;
    setFrozen((cur) => (held ? (cur ?? alertsModel.list().slice(0, MAX_ROWS).map((a) => a.alertId)) : null));
  };
  let rows = latest;
  let waiting = 0;
  if (frozen) {
    const inModel = new Set(all.map((a) => a.alertId));
    const kept = new Set(frozen);
    rows = frozen.filter((id) => inModel.has(id)).map((id) => alertsModel.get(id)!);
    waiting = latest.filter((a) => !kept.has(a.alertId)).length;
  }
  return (
    <section class="panel feed" aria-labelledby="feed-title">
      <div class="panel-head">
        <h2 id="feed-title">Alerts</h2>
        <span class={`conn ${alertsModel.connected ? 'up' : 'down'}`} role="status">
          {alertsModel.connected ? 'live' : 'reconnecting…'}
        </span>
      </div>
      <form class="filters" onSubmit={(e) => { e.preventDefault(); alertsModel.setFilters({ droneId: drone.trim() }); }}>
        <label>
          Status
          <select value={f.status} onChange={(e) => alertsModel.setFilters({ status: (e.target as HTMLSelectElement).value as StatusFilter })}>
            <option value="active">Open or acknowledged</option>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="resolved">Resolved</option>
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Drone
          <input type="search" value={drone} placeholder="drone-00042" size={12}
            onInput={(e) => setDrone((e.target as HTMLInputElement).value)}
            onChange={(e) => alertsModel.setFilters({ droneId: (e.target as HTMLInputElement).value.trim() })} />
        </label>
        <label>
          Area
          <select value={f.area} onChange={(e) => alertsModel.setFilters({ area: (e.target as HTMLSelectElement).value as AreaFilter })}>
            <option value="all">Everywhere</option>
            <option value="view">Visible on the map</option>
          </select>
        </label>
      </form>
      <p class="feed-count" aria-live="off">
        {alertsModel.loading ? 'Loading…' : `${all.length}${all.length >= 500 ? '+' : ''} alerts`}
        {all.length > MAX_ROWS ? ` (newest ${MAX_ROWS} listed)` : ''}
      </p>
      {alertsModel.error && <p class="error" role="alert">{alertsModel.error}</p>}
      {waiting > 0 && (
        <button type="button" class="new-alerts" onClick={() => setFrozen(latest.map((a) => a.alertId))}>
          {waiting} new alert{waiting > 1 ? 's' : ''}: show
        </button>
      )}
      <ol class="alert-list" aria-label="Alerts, newest first" ref={listRef}
        onPointerEnter={() => { hold.current.hover = true; update(); }}
        onPointerLeave={() => { hold.current.hover = false; update(); }}
        onFocusIn={() => { hold.current.focus = true; update(); }}
        onFocusOut={(e) => { hold.current.focus = listRef.current?.contains(e.relatedTarget as Node | null) ?? false; update(); }}>
        {rows.map((a) => (
          <AlertRow key={a.alertId} alert={a} age={formatAge(now - a.raisedAt)} selected={a.alertId === selectedId}
            fresh={now - a.raisedAt < FRESH_MS && a.status === 'open'} />
        ))}
      </ol>
    </section>
  );
}

interface RowProps {
  alert: Alert;
  age: string;
  selected: boolean;
  fresh: boolean;
}

/**
 * One alert. Re-renders only when what it shows changed: with several alerts a second and a clock ticking every
 * second, re-rendering every row each time would cost the main thread the time the next alert needs.
 */
class AlertRow extends Component<RowProps> {
  override shouldComponentUpdate(next: RowProps): boolean {
    const p = this.props;
    return p.alert !== next.alert || p.age !== next.age || p.selected !== next.selected || p.fresh !== next.fresh;
  }

  override render({ alert: a, age, selected, fresh }: RowProps) {
    return (
      <li data-alert-id={a.alertId} data-raised-at={a.raisedAt} data-status={a.status}
        class={`alert sev-${a.severity} status-${a.status}${fresh ? ' fresh' : ''}${selected ? ' selected' : ''}`}>
        <button type="button" aria-pressed={selected} onClick={() => alertsModel.select(selected ? null : a.alertId)}
          aria-label={`${SEVERITY_LABEL[a.severity]} alert, ${a.citizen}, score ${a.score}, ${a.droneId}, ${age} ago, ${a.status}`}>
          <span class={`sev-badge sev-${a.severity}`}>{SEVERITY_LABEL[a.severity]}</span>
          <span class="who">{a.citizen}</span>
          <span class="score" title="lowest score seen">{a.score}</span>
          <span class="drone">{a.droneId}</span>
          <span class="age" title={formatTime(a.raisedAt)}>{age}</span>
          <span class={`status-badge status-${a.status}`}>{a.status}</span>
        </button>
      </li>
    );
  }
}
