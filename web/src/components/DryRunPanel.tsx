import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/api.ts';
import { formatNumber } from '../lib/format.ts';
import type { DryRunCounts, DryRunResult, RuleSet } from '../lib/types.ts';
import { t } from '../pages/rules-strings.ts';
import { DRY_RUN_DAYS, rulesModel } from '../state/rules.ts';

/**
 * "Try on last week": replays the proposed rule set over the lake's reports of the last days (POST /v1/rules/dry-run,
 * with progress) and shows what it would have raised next to the rules in force: in total, per zone and per rule.
 * Nothing is raised or written. A result is of the set it was run on: changing the draft clears it.
 */
export function DryRunPanel({ set }: { set: RuleSet }) {
  const [running, setRunning] = useState(false);
  const [replayed, setReplayed] = useState(0);
  const [result, setResult] = useState<DryRunResult | null>(null);
  const [error, setError] = useState('');
  const abort = useRef<AbortController | null>(null);
  const key = JSON.stringify(set);
  useEffect(() => {
    setResult(null);
    setError('');
  }, [key]);
  useEffect(() => () => abort.current?.abort(), []);

  const run = async (): Promise<void> => {
    abort.current?.abort();
    const ctl = new AbortController();
    abort.current = ctl;
    setRunning(true);
    setReplayed(0);
    setResult(null);
    setError('');
    try {
      setResult(await rulesModel.dryRun(set, setReplayed, ctl.signal));
    } catch (e) {
      if (ctl.signal.aborted) return;
      setError(e instanceof ApiError ? (e.fields.map((f) => `${f.field}: ${f.reason}`).join('; ') || e.message) : String(e));
    } finally {
      if (abort.current === ctl) setRunning(false);
    }
  };

  type Table = 'perZone' | 'perRule' | 'incidentsPerZone';
  const counts = (side: DryRunCounts, pick: Table): Record<string, number> => (pick === 'incidentsPerZone' ? side.incidents.perZone : side[pick]);
  const rows = (pick: Table): [string, number, number][] => {
    if (!result) return [];
    const inForce = counts(result.inForce, pick);
    const proposed = counts(result.proposed, pick);
    const keys = [...new Set([...Object.keys(inForce), ...Object.keys(proposed)])].sort();
    return keys.map((k) => [k, inForce[k] ?? 0, proposed[k] ?? 0]);
  };
  return (
    <div class="dry-run">
      <button type="button" class="try-week" disabled={running} onClick={() => void run()}>{t('tryWeek', { days: DRY_RUN_DAYS })}</button>
      {running && (
        <p class="hint" role="status">
          {t('dryRunning', { n: replayed })}{' '}
          <button type="button" class="link" onClick={() => { abort.current?.abort(); setRunning(false); }}>{t('cancel')}</button>
        </p>
      )}
      {error && <p class="field-error" role="alert">{error}</p>}
      {result && (
        <div class="dry-run-result" data-proposed={result.proposed.alerts} data-in-force={result.inForce.alerts}
          data-proposed-incidents={result.proposed.incidents.incidents} data-in-force-incidents={result.inForce.incidents.incidents}>
          <p role="status">
            {t('dryResult', { reports: result.reports, proposed: result.proposed.alerts, inForce: result.inForce.alerts, version: result.inForce.version, s: (result.elapsedMs / 1000).toFixed(1) })}
          </p>
          <p class="dry-incidents">
            {t('dryIncidents', { proposed: result.proposed.incidents.incidents, gatherings: result.proposed.incidents.gatherings, inForce: result.inForce.incidents.incidents })}
          </p>
          {(['perZone', 'perRule', 'incidentsPerZone'] as const).map((pick) => rows(pick).length > 0 && (
            <table class="data compact" key={pick}>
              <caption>{t(pick)}</caption>
              <thead><tr><th scope="col">{pick === 'perRule' ? t('colRule') : t('colZone')}</th><th scope="col" class="num">{t('colInForce', { version: result.inForce.version })}</th><th scope="col" class="num">{t('colProposed')}</th></tr></thead>
              <tbody>
                {rows(pick).map(([k, a, b]) => (
                  <tr key={k} data-key={k}><th scope="row"><code>{k === '(none)' ? t('outsideZones') : k}</code></th><td class="num">{formatNumber(a)}</td><td class="num">{formatNumber(b)}</td></tr>
                ))}
              </tbody>
            </table>
          ))}
        </div>
      )}
    </div>
  );
}
