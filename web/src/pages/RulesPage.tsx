import { useEffect, useRef, useState } from 'preact/hooks';
import { DryRunPanel } from '../components/DryRunPanel.tsx';
import { RuleList, SilenceList, ZoneList } from '../components/RuleLists.tsx';
import { ZoneMap, type ZoneDraft } from '../components/ZoneMap.tsx';
import { ApiError } from '../lib/api.ts';
import { formatDateTime } from '../lib/format.ts';
import { useModel } from '../lib/observable.ts';
import type { DashboardConfig, Rule, Zone } from '../lib/types.ts';
import { escapeHtml } from '../map/base.ts';
import { authModel } from '../state/auth.ts';
import { rulesModel } from '../state/rules.ts';
import { EMPTY_FORM, formField, outerPoints, withNewZone, withZoneShape, type LatLon, type Placed, type ZoneForm } from './rules-draft.ts';
import { ruleSummary, t } from './rules-strings.ts';
import './rules.css';

/** Field -> the server's reason, shown beside that field. `form`: what belongs to no field. */
type FieldErrors = Record<string, string>;

/**
 * Alert rules on the map (issue 19): the tenant's rules in force with their version, each zone drawn, the silences.
 * A user with `rules:manage` draws a new zone (clicks on the map, a click on the first point closes it), names it and
 * picks what it does, reshapes a zone (drag a point, delete one), disables a rule, and tries a change on last week's
 * reports first. Every change goes through the API the CLI uses; the server validates, versions and audits it, and its
 * refusals are shown beside the fields they name. Read-only users (officers) see the same map and lists, no controls.
 */
export function RulesPage({ config }: { config: DashboardConfig }) {
  useModel(rulesModel);
  const canManage = authModel.can('rules:manage');
  const [draft, setDraft] = useState<ZoneDraft | null>(null);
  const [selectedVertex, setSelectedVertex] = useState<number | null>(null);
  const [form, setForm] = useState<ZoneForm>(EMPTY_FORM);
  const [reason, setReason] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const [focusZone, setFocusZone] = useState<string | null>(null);
  const centre = useRef<(() => LatLon) | null>(null);

  useEffect(() => void rulesModel.load(), []);
  const cur = rulesModel.current;

  const reset = (): void => {
    setDraft(null);
    setSelectedVertex(null);
    setForm(EMPTY_FORM);
    setReason('');
    setErrors({});
  };
  /** The change as a rule set on top of the version in force, and where its parts are in it. */
  const proposal = (): Placed | null => {
    if (!cur || !draft) return null;
    if (draft.mode === 'edit' && draft.zoneId) return withZoneShape(cur, draft.zoneId, draft.points);
    return draft.closed ? withNewZone(cur, draft.points, form) : null;
  };

  const save = async (): Promise<void> => {
    const placed = proposal();
    if (!placed) return;
    setBusy(true);
    setErrors({});
    setStatus('');
    try {
      const v = await rulesModel.apply(placed.set, reason);
      reset();
      setStatus(t('saved', { version: v.version }));
    } catch (e) {
      setErrors(errorsOf(e, placed));
    } finally {
      setBusy(false);
    }
  };

  const startEdit = (z: Zone): void => {
    setErrors({});
    setStatus('');
    setSelectedVertex(null);
    setDraft({ mode: 'edit', zoneId: z.id, points: outerPoints(z), closed: true });
  };
  const deleteVertex = (): void => {
    if (!draft || selectedVertex === null) return;
    setDraft({ ...draft, points: draft.points.filter((_p, i) => i !== selectedVertex) });
    setSelectedVertex(null);
  };

  if (!cur) {
    return (
      <div class="page rules-page">
        <h1>{t('title')}</h1>
        {rulesModel.loadError ? <p class="error" role="alert">{t('loadFailed', { reason: rulesModel.loadError })}</p> : <p class="loading">{t('loading')}</p>}
      </div>
    );
  }

  const zoneName = (id: string | undefined): string => cur.zones.find((z) => z.id === id)?.name ?? id ?? '';
  const placed = proposal();
  return (
    <div class="rules-page" data-version={cur.version}>
      <div class="rules-map-cell">
        <ZoneMap
          config={config}
          zones={cur.zones}
          rules={cur.rules}
          draft={draft}
          selectedVertex={selectedVertex}
          onAddPoint={(p) => draft && setDraft({ ...draft, points: [...draft.points, p] })}
          onClose={() => draft && setDraft({ ...draft, closed: true })}
          onMovePoint={(i, p) => draft && setDraft({ ...draft, points: draft.points.map((q, k): LatLon => (k === i ? p : q)) })}
          onSelectVertex={(i) => setSelectedVertex(i)}
          onSelectZone={(id) => setFocusZone(id)}
          centreRef={centre}
          text={{
            zoneTooltip: (z: Zone, rules: Rule[]) => `<strong>${escapeHtml(z.name)}</strong>${rules.map((r) => `<br>${escapeHtml(ruleSummary(r, zoneName))}${r.enabled ? '' : ` (${t('disabled')})`}`).join('')}`,
            vertex: (n: number) => t('vertex', { n }),
            region: t('mapRegion'),
          }}
        />
      </div>
      <div class="rules-side">
        <section class="panel rules-head" aria-labelledby="rules-title">
          <h1 id="rules-title">{t('title')}</h1>
          <p class="rules-version" data-version={cur.version}>
            {t('versionLine', { version: cur.version, author: cur.author, at: formatDateTime(Date.parse(cur.at)) })}
            <br /><span class="hint">{t('why', { reason: cur.reason })}</span>
          </p>
          {!canManage && <p class="hint read-only">{t('readOnly')}</p>}
          <p class="rules-status" role="status">{status}</p>
        </section>

        {canManage && (
          <section class="panel zone-editor" aria-labelledby="editor-title">
            <h2 id="editor-title">{draft?.mode === 'edit' ? t('reshapeTitle', { name: zoneName(draft.zoneId) }) : t('newZoneTitle')}</h2>
            {!draft && (
              <button type="button" class="primary new-zone" onClick={() => { setStatus(''); setErrors({}); setDraft({ mode: 'draw', points: [], closed: false }); }}>
                {t('drawZone')}
              </button>
            )}
            {draft?.mode === 'draw' && !draft.closed && (
              <DrawTools points={draft.points.length}
                onAddCentre={() => centre.current && setDraft({ ...draft, points: [...draft.points, centre.current()] })}
                onUndo={() => setDraft({ ...draft, points: draft.points.slice(0, -1) })}
                onClose={() => setDraft({ ...draft, closed: true })}
                onCancel={reset} />
            )}
            {draft?.mode === 'draw' && draft.closed && (
              <ZoneFormFields form={form} setForm={setForm} errors={errors} points={draft.points.length} />
            )}
            {draft?.mode === 'edit' && (
              <div class="reshape">
                <p class="hint">{t('reshapeHint')}</p>
                <p>{t('pointCount', { n: draft.points.length })}</p>
                <button type="button" class="delete-vertex" disabled={selectedVertex === null || draft.points.length <= 3} onClick={deleteVertex}>
                  {selectedVertex === null ? t('deletePointNone') : t('deletePoint', { n: selectedVertex + 1 })}
                </button>
                {errors.shape && <p class="field-error" data-field="shape">{errors.shape}</p>}
              </div>
            )}
            {draft && (draft.closed || draft.mode === 'edit') && (
              <>
                <label class="field">
                  <span>{t('reason')}</span>
                  <input name="reason" type="text" value={reason} maxLength={500} placeholder={t('reasonPlaceholder')}
                    aria-invalid={errors.reason ? 'true' : undefined} aria-describedby={errors.reason ? 'err-reason' : undefined}
                    onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
                  {errors.reason && <span class="field-error" id="err-reason" data-field="reason">{errors.reason}</span>}
                </label>
                {errors.form && <p class="field-error" data-field="form" role="alert">{errors.form}</p>}
                <div class="buttons">
                  <button type="button" class="primary save-zone" disabled={busy} onClick={() => void save()}>{busy ? t('saving') : t('save')}</button>
                  <button type="button" onClick={reset}>{t('cancel')}</button>
                </div>
                {placed && <DryRunPanel set={placed.set} />}
              </>
            )}
          </section>
        )}

        <ZoneList zones={cur.zones} rules={cur.rules} focus={focusZone} canManage={canManage && !draft} onEdit={startEdit} />
        <RuleList rules={cur.rules} zoneName={zoneName} canManage={canManage && !draft} onChanged={(v) => setStatus(t('saved', { version: v }))} />
        <SilenceList silences={rulesModel.silences} zoneName={zoneName} />
      </div>
    </div>
  );
}

function DrawTools({ points, onAddCentre, onUndo, onClose, onCancel }: { points: number; onAddCentre: () => void; onUndo: () => void; onClose: () => void; onCancel: () => void }) {
  return (
    <div class="draw-tools">
      <p class="hint">{t('drawHint')}</p>
      <p class="point-count" data-points={points}>{t('pointCount', { n: points })}</p>
      <div class="buttons">
        {/* Without a pointer: move the map with the arrow keys, then add its centre. */}
        <button type="button" class="add-centre" onClick={onAddCentre}>{t('addCentre')}</button>
        <button type="button" class="close-shape" disabled={points < 3} onClick={onClose}>{t('closeShape')}</button>
        <button type="button" disabled={points === 0} onClick={onUndo}>{t('undoPoint')}</button>
        <button type="button" onClick={onCancel}>{t('cancel')}</button>
      </div>
    </div>
  );
}

/** Name and what the zone does; each field shows the server's reason when it refused that field. */
function ZoneFormFields({ form, setForm, errors, points }: { form: ZoneForm; setForm: (f: ZoneForm) => void; errors: FieldErrors; points: number }) {
  const set = (k: keyof ZoneForm) => (e: Event): void => setForm({ ...form, [k]: (e.target as HTMLInputElement).value });
  const field = (name: keyof ZoneForm, label: string, input: (invalid: boolean) => preact.JSX.Element) => (
    <label class="field" key={name}>
      <span>{label}</span>
      {input(Boolean(errors[name]))}
      {errors[name] && <span class="field-error" id={`err-${name}`} data-field={name}>{errors[name]}</span>}
    </label>
  );
  const aria = (name: string, invalid: boolean) => (invalid ? { 'aria-invalid': 'true' as const, 'aria-describedby': `err-${name}` } : {});
  return (
    <div class="zone-form">
      <p class="hint">{t('closed', { n: points })}</p>
      {errors.shape && <p class="field-error" data-field="shape">{errors.shape}</p>}
      {field('name', t('zoneName'), (bad) => <input name="name" type="text" value={form.name} maxLength={200} onInput={set('name')} {...aria('name', bad)} />)}
      {field('action', t('action'), () => (
        <select name="action" value={form.action} onChange={set('action')}>
          <option value="score">{t('actionScore')}</option>
          <option value="zone-entry">{t('actionEntry')}</option>
          <option value="words">{t('actionWords')}</option>
        </select>
      ))}
      {form.action !== 'zone-entry' && field('threshold', t('threshold'), (bad) => <input name="threshold" type="number" inputMode="decimal" value={form.threshold} onInput={set('threshold')} {...aria('threshold', bad)} />)}
      {form.action === 'score' && field('criticalThreshold', t('criticalThreshold'), (bad) => <input name="criticalThreshold" type="number" inputMode="decimal" value={form.criticalThreshold} onInput={set('criticalThreshold')} {...aria('criticalThreshold', bad)} />)}
      {form.action === 'zone-entry' && field('citizens', t('citizens'), (bad) => <textarea name="citizens" rows={3} value={form.citizens} onInput={set('citizens')} {...aria('citizens', bad)} />)}
      {form.action === 'words' && field('words', t('words'), (bad) => <input name="words" type="text" value={form.words} onInput={set('words')} {...aria('words', bad)} />)}
      {form.action !== 'score' && field('severity', t('severity'), () => (
        <select name="severity" value={form.severity} onChange={set('severity')}>
          <option value="info">{t('sev_info')}</option>
          <option value="warning">{t('sev_warning')}</option>
          <option value="critical">{t('sev_critical')}</option>
        </select>
      ))}
    </div>
  );
}

/** The server's refusal as messages beside fields: each named field where it belongs, the rest above the buttons. */
function errorsOf(e: unknown, placed: Placed): FieldErrors {
  if (!(e instanceof ApiError)) return { form: e instanceof Error ? e.message : String(e) };
  if (e.code === 'DW_RULES_CONFLICT') return { form: t('conflict') };
  if (e.fields.length === 0) return { form: e.message };
  const out: FieldErrors = {};
  for (const f of e.fields) {
    const key = formField(f.field, placed);
    out[key] = out[key] ? `${out[key]}; ${f.reason}` : f.reason;
  }
  return out;
}

