import { formatDuration } from '../lib/format.ts';
import { useModel } from '../lib/observable.ts';
import type { ReactionTimes } from '../lib/types.ts';
import { reactionModel } from '../state/reaction.ts';

type Column = [label: string, value: (r: ReactionTimes) => string];

const COLUMNS: Column[] = [
  ['Alerts raised', (r) => String(r.alerts)],
  ['Still open', (r) => String(r.open)],
  ['Acknowledged', (r) => String(r.toAcknowledge.count)],
  ['To acknowledge, median', (r) => formatDuration(r.toAcknowledge.p50Ms)],
  ['To acknowledge, 90th pct.', (r) => formatDuration(r.toAcknowledge.p90Ms)],
  ['Resolved', (r) => String(r.toResolve.count)],
  ['To resolve, median', (r) => formatDuration(r.toResolve.p50Ms)],
  ['To resolve, 90th pct.', (r) => formatDuration(r.toResolve.p90Ms)],
];

/** Time to acknowledge and to resolve, today against the last 7 days (from the alert store, live). */
export function ReactionPanel() {
  useModel(reactionModel);
  const periods: [string, string, ReactionTimes | null][] = [['today', 'Today', reactionModel.today], ['week', 'Last 7 days', reactionModel.week]];
  return (
    <section class="panel reaction" aria-labelledby="reaction-title">
      <h2 id="reaction-title">Reaction time <span class="hint">(alerts raised in the period)</span></h2>
      {reactionModel.error && <p class="error" role="alert">{reactionModel.error}</p>}
      <div class="table-scroll plain">
        <table class="data compact reaction-table">
          <thead>
            <tr>
              <th scope="col"><span class="sr-only">Period</span></th>
              {COLUMNS.map(([label]) => <th scope="col" class="num" key={label}>{label}</th>)}
            </tr>
          </thead>
          <tbody>
            {periods.map(([key, label, r]) => (
              <tr key={key} data-period={key}>
                <th scope="row">{label}</th>
                {COLUMNS.map(([col, value], i) => <td class="num" key={col} data-col={i}>{r ? value(r) : '…'}</td>)}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
