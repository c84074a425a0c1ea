import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../lib/api.ts';
import { formatAge, formatDateTime, formatDuration } from '../lib/format.ts';
import { useModel } from '../lib/observable.ts';
import { alertsModel } from '../state/alerts.ts';
import { authModel } from '../state/auth.ts';
import { trackModel } from '../state/track.ts';

/** The selected alert: who, score, words, drone, when, its track; acknowledge, assign, resolve with a note. */
export function AlertDetail({ officer }: { officer: string }) {
  useModel(alertsModel);
  useModel(trackModel);
  const a = alertsModel.selected;
  const [note, setNote] = useState('');
  const [assignee, setAssignee] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  useEffect(() => {
    setNote('');
    setAssignee(a?.assignee ?? '');
    setMessage(null);
  }, [a?.alertId]);
  if (!a) {
    return (
      <section class="panel detail empty" aria-labelledby="detail-title">
        <h2 id="detail-title">Alert details</h2>
        <p>Select an alert in the list or on the map.</p>
      </section>
    );
  }
  const act = async (what: 'acknowledge' | 'assign' | 'resolve'): Promise<void> => {
    if (!officer) {
      // Only without authentication: with a login, the name is the logged-in user's.
      setMessage({ kind: 'error', text: 'Enter your name (Officer, at the top) first: every change records who made it.' });
      return;
    }
    setBusy(true);
    setMessage(null);
    try {
      if (what === 'acknowledge') await alertsModel.acknowledge(a.alertId, officer, note || undefined);
      else if (what === 'assign') await alertsModel.assign(a.alertId, assignee.trim(), officer);
      else await alertsModel.resolve(a.alertId, officer, note || undefined);
      setMessage({ kind: 'ok', text: what === 'acknowledge' ? 'Acknowledged.' : what === 'assign' ? `Assigned to ${assignee.trim()}.` : 'Resolved.' });
      setNote('');
    } catch (err) {
      setMessage({ kind: 'error', text: err instanceof ApiError ? `${err.message} (${err.code})` : String(err) });
    } finally {
      setBusy(false);
    }
  };
  const closed = a.status === 'resolved';
  // The buttons a role cannot use are not shown (the server would answer 403 DW_AUTH_FORBIDDEN).
  const canAct = authModel.can('alerts:act');
  const canAssign = authModel.can('alerts:assign');
  return (
    <section class={`panel detail sev-${a.severity}`} aria-labelledby="detail-title" data-alert-id={a.alertId}>
      <div class="panel-head">
        <h2 id="detail-title">{a.citizen}</h2>
        <button type="button" class="close" onClick={() => alertsModel.select(null)} aria-label="Close alert details">×</button>
      </div>
      <dl class="facts">
        <dt>Severity</dt><dd><span class={`sev-badge sev-${a.severity}`}>{a.severity}</span></dd>
        <dt>Status</dt><dd class="detail-status" data-status={a.status}>{a.status}{a.assignee ? `, assigned to ${a.assignee}` : ''}</dd>
        <dt>Score</dt><dd class="detail-score">{a.score}</dd>
        <dt>Words heard</dt><dd class="detail-words">{a.words.length ? a.words.join(', ') : '—'}</dd>
        <dt>Drone</dt><dd class="detail-drone">{a.droneId}</dd>
        <dt>Seen</dt><dd class="detail-time">{formatDateTime(a.lastSeenTs)}{a.occurrences > 1 ? ` (${a.occurrences} sightings since ${formatDateTime(a.firstSeenTs)})` : ''}</dd>
        <dt>Raised</dt><dd class="detail-raised">{formatDateTime(a.raisedAt)}{raisedNote(a.raisedAt, a.firstSeenTs) && <span class="hint detail-raised-why"> {raisedNote(a.raisedAt, a.firstSeenTs)}</span>}</dd>
        <dt>Position</dt><dd>{a.position.lat.toFixed(5)}, {a.position.lon.toFixed(5)}</dd>
        <dt>Rule</dt><dd>{a.rule}</dd>
        {a.acknowledgedAt !== null && <><dt>Acknowledged</dt><dd>by {a.acknowledgedBy} after {formatDuration(a.acknowledgedAt - a.raisedAt)}</dd></>}
        {a.resolvedAt !== null && <><dt>Resolved</dt><dd>by {a.resolvedBy} after {formatDuration(a.resolvedAt - a.raisedAt)}</dd></>}
        {a.note && <><dt>Note</dt><dd class="detail-note">{a.note}</dd></>}
      </dl>
      {!closed && canAct && (
        <form class="actions" onSubmit={(e) => e.preventDefault()}>
          <label class="block">
            Note
            <textarea value={note} rows={2} maxLength={4000} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
          </label>
          <div class="buttons">
            <button type="button" class="primary" disabled={busy || a.status !== 'open'} onClick={() => void act('acknowledge')}>Acknowledge</button>
            <button type="button" disabled={busy} onClick={() => void act('resolve')}>Resolve</button>
          </div>
          {canAssign && <div class="assign">
            <label>
              Assign to
              <input type="text" value={assignee} maxLength={200} onInput={(e) => setAssignee((e.target as HTMLInputElement).value)} />
            </label>
            <button type="button" disabled={busy || !assignee.trim()} onClick={() => void act('assign')}>Assign</button>
          </div>}
        </form>
      )}
      {message && <p class={message.kind === 'ok' ? 'ok' : 'error'} role={message.kind === 'ok' ? 'status' : 'alert'}>{message.text}</p>}
      <details class="track-list" open={false}>
        <summary>
          Recent track of {a.droneId}: {trackModel.loading ? 'loading…' : `${trackModel.points.length} positions${trackModel.source === 'lake' ? ' (from the lake)' : ''}`}
        </summary>
        <table class="data compact">
          <thead><tr><th scope="col">Time</th><th scope="col">Latitude</th><th scope="col">Longitude</th></tr></thead>
          <tbody>
            {[...trackModel.points].reverse().map((p) => (
              <tr key={p.ts}><td>{formatDateTime(p.ts)}</td><td class="num">{p.lat.toFixed(5)}</td><td class="num">{p.lon.toFixed(5)}</td></tr>
            ))}
          </tbody>
        </table>
      </details>
    </section>
  );
}

/**
 * Why "Raised" differs from "Seen", when it does by more than a minute: "Seen" is the report's own time (when the
 * drone saw the person), "Raised" the platform's clock when the report was processed.
 */
export function raisedNote(raisedAt: number, firstSeenTs: number): string | null {
  const late = raisedAt - firstSeenTs;
  if (late > 60_000) return `(${formatAge(late)} after the sighting: the report reached the platform late, replayed or held by the drone while out of range; "Seen" is the time of the report)`;
  if (late < -60_000) return `(${formatAge(-late)} before the time of the report: the drone's clock is ahead)`;
  return null;
}
