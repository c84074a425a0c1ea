import { useState } from 'preact/hooks';
import { ApiError } from '../lib/api.ts';
import { formatDateTime } from '../lib/format.ts';
import type { Rule, Silence, Zone } from '../lib/types.ts';
import { kindLabel, ruleSummary, t } from '../pages/rules-strings.ts';
import { rulesModel } from '../state/rules.ts';

/** The zones of the version in force, the rules using each, and (for managers) a button to reshape one. */
export function ZoneList({ zones, rules, focus, canManage, onEdit }: { zones: Zone[]; rules: Rule[]; focus: string | null; canManage: boolean; onEdit: (z: Zone) => void }) {
  return (
    <section class="panel zone-list" aria-labelledby="zones-title">
      <h2 id="zones-title">{t('zonesTitle', { n: zones.length })}</h2>
      {zones.length === 0 ? <p class="hint">{t('noZones')}</p> : (
        <ul class="plain">
          {zones.map((z) => {
            const using = rules.filter((r) => r.zone === z.id);
            return (
              <li key={z.id} data-zone-id={z.id} class={focus === z.id ? 'focused' : ''}>
                <span class="zone-name">{z.name}</span> <code class="hint">{z.id}</code>
                <span class="hint zone-rules">{using.length === 0 ? t('zoneUnused') : using.map((r) => `${r.id}${r.enabled ? '' : ` (${t('disabled')})`}`).join(', ')}</span>
                {canManage && <button type="button" class="small edit-zone" onClick={() => onEdit(z)}>{t('reshape')}</button>}
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

/** Every rule of the version in force: what it does, where, enabled or not; managers can disable one (with a reason). */
export function RuleList({ rules, zoneName, canManage, onChanged }: { rules: Rule[]; zoneName: (id: string | undefined) => string; canManage: boolean; onChanged: (version: number) => void }) {
  const [disabling, setDisabling] = useState<string | null>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const disable = async (id: string): Promise<void> => {
    setBusy(true);
    setError('');
    try {
      const v = await rulesModel.disable(id, reason);
      setDisabling(null);
      setReason('');
      onChanged(v.version);
    } catch (e) {
      // The reason is the one field of this form: whatever the server names, it is shown here.
      setError(e instanceof ApiError ? (e.fields.map((f) => f.reason).join('; ') || (e.code === 'DW_RULES_CONFLICT' ? t('conflict') : e.message)) : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section class="panel rule-list" aria-labelledby="rule-list-title">
      <h2 id="rule-list-title">{t('rulesTitle', { n: rules.length })}</h2>
      <table class="data compact">
        <thead><tr><th scope="col">{t('colRule')}</th><th scope="col">{t('colWhat')}</th><th scope="col">{t('colState')}</th></tr></thead>
        <tbody>
          {rules.map((r) => (
            <tr key={r.id} data-rule-id={r.id} data-enabled={String(r.enabled)}>
              <th scope="row"><code>{r.id}</code><br /><span class="hint">{kindLabel(r.kind)}</span></th>
              <td>{ruleSummary(r, zoneName)}</td>
              <td class="rule-state">
                <span class={`state ${r.enabled ? 'on' : 'off'}`}>{r.enabled ? t('enabled') : t('disabled')}</span>
                {canManage && r.enabled && disabling !== r.id && (
                  <button type="button" class="small disable-rule" onClick={() => { setDisabling(r.id); setReason(''); setError(''); }}>{t('disable')}</button>
                )}
                {disabling === r.id && (
                  <form class="disable-form" onSubmit={(e) => { e.preventDefault(); void disable(r.id); }}>
                    <label class="field">
                      <span>{t('reason')}</span>
                      <input name="disable-reason" type="text" value={reason} maxLength={500} onInput={(e) => setReason((e.target as HTMLInputElement).value)}
                        aria-invalid={error ? 'true' : undefined} />
                      {error && <span class="field-error" data-field="reason">{error}</span>}
                    </label>
                    <div class="buttons">
                      <button type="submit" class="small primary" disabled={busy}>{t('confirmDisable')}</button>
                      <button type="button" class="small" onClick={() => setDisabling(null)}>{t('cancel')}</button>
                    </div>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The silences of the tenant (read-only here; `dronewatch silences` and the API add and remove them). */
export function SilenceList({ silences, zoneName, now = Date.now() }: { silences: Silence[]; zoneName: (id: string | undefined) => string; now?: number }) {
  return (
    <section class="panel silence-list" aria-labelledby="silences-title">
      <h2 id="silences-title">{t('silencesTitle', { n: silences.length })}</h2>
      {silences.length === 0 ? <p class="hint">{t('noSilences')}</p> : (
        <ul class="plain">
          {silences.map((s) => {
            const start = Date.parse(s.startsAt);
            const end = Date.parse(s.endsAt);
            const state = now < start ? 'future' : now >= end ? 'ended' : 'active';
            const what = s.match.kind === 'zone' ? t('silenceZone', { name: zoneName(s.match.value) }) : s.match.kind === 'drone' ? t('silenceDrone', { id: s.match.value }) : t('silenceCitizen', { name: s.match.value });
            return (
              <li key={s.id} data-silence-id={s.id} data-state={state}>
                <strong>{what}</strong> · {t(`silence_${state}`)}
                <br /><span class="hint">{t('silenceWhen', { from: formatDateTime(start), to: formatDateTime(end), author: s.author })} · {s.reason}</span>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}
