import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Chart, chartFromResult, drawable, isNumericType } from '../components/Chart.tsx';
import { DataTable } from '../components/DataTable.tsx';
import { ApiError, download, getJson, sendJson } from '../lib/api.ts';
import type { QueryResult, SavedQuery } from '../lib/types.ts';

const VIEWS = ['reports', 'sightings', 'words', 'alerts', 'alert_events'] as const;
const DRAFT_KEY = 'dronewatch.sql.draft';
const EXAMPLE = `-- Alerts per drone in the last 24 hours (Ctrl+Enter runs)
SELECT drone_id, count(*) AS alerts, min(score) AS lowest_score
FROM alerts
WHERE raised_at >= now() - INTERVAL 24 HOUR
GROUP BY drone_id
ORDER BY alerts DESC
LIMIT 20`;

type Schemas = Record<string, { name: string; type: string }[]>;
let schemaCache: Promise<Schemas> | undefined;

/** The lake views' columns, from `DESCRIBE <view>` through the query API, once per page. */
function loadSchemas(): Promise<Schemas> {
  schemaCache ??= Promise.all(VIEWS.map(async (v) => {
    const r = await sendJson<QueryResult>('POST', '/v1/query', { sql: `DESCRIBE ${v}`, format: 'json' });
    return [v, r.rows.map((row) => ({ name: String(row[0]), type: String(row[1]) }))] as const;
  })).then(Object.fromEntries, (e: unknown) => {
    schemaCache = undefined;
    throw e;
  });
  return schemaCache;
}

function draft(): string {
  try {
    return localStorage.getItem(DRAFT_KEY) ?? EXAMPLE;
  } catch {
    return EXAMPLE;
  }
}

/**
 * The SQL console: DuckDB SQL over the lake views (read-only sandbox on the server). Run and cancel (aborting the
 * request makes the server interrupt the query), a paged result table, a chart of any columns, CSV/Parquet export of
 * the whole result, saved queries, and the views' columns beside the editor.
 */
export function SqlPage() {
  const [sql, setSql] = useState(draft);
  const [limit, setLimit] = useState('10000');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<QueryResult | null>(null);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error' | 'info'; text: string } | null>(null);
  const [saved, setSaved] = useState<SavedQuery[]>([]);
  const [saveName, setSaveName] = useState('');
  const [saveDescription, setSaveDescription] = useState('');
  const [schemas, setSchemas] = useState<Schemas | null>(null);
  const [schemaError, setSchemaError] = useState<string | null>(null);
  const [chartOn, setChartOn] = useState(false);
  const [chartKind, setChartKind] = useState<'bar' | 'line'>('bar');
  const [xCol, setXCol] = useState('');
  const [yCols, setYCols] = useState<string[]>([]);
  const abort = useRef<AbortController | null>(null);

  const refreshSaved = (): void => {
    getJson<{ queries: SavedQuery[] }>('/v1/queries').then((r) => setSaved(r.queries), () => setSaved([]));
  };
  useEffect(() => {
    refreshSaved();
    loadSchemas().then(setSchemas, (e: Error) => setSchemaError(e.message));
    return () => abort.current?.abort();
  }, []);
  useEffect(() => {
    try {
      localStorage.setItem(DRAFT_KEY, sql);
    } catch {
      // No storage.
    }
  }, [sql]);

  const run = async (): Promise<void> => {
    if (running || !sql.trim()) return;
    const ac = new AbortController();
    abort.current = ac;
    setRunning(true);
    setStatus({ kind: 'info', text: 'Running…' });
    const started = performance.now();
    try {
      const n = Number(limit);
      const r = await sendJson<QueryResult>('POST', '/v1/query', { sql, format: 'json', ...(Number.isInteger(n) && n > 0 ? { limit: n } : {}) }, ac.signal);
      setResult(r);
      const numeric = r.columns.filter((_, i) => isNumericType(r.columnTypes[i] ?? ''));
      setXCol(r.columns[0] ?? '');
      setYCols(numeric.filter((c) => c !== r.columns[0]).slice(0, 2));
      setStatus({ kind: 'ok', text: `${r.rowCount} rows${r.truncated ? ` (stopped at the row limit, ${limit}: export for all of them)` : ''} in ${r.elapsedMs ?? Math.round(performance.now() - started)} ms.` });
    } catch (e) {
      if (ac.signal.aborted) setStatus({ kind: 'info', text: 'Query cancelled.' });
      else setStatus({ kind: 'error', text: e instanceof ApiError ? `${e.message}` : String(e) });
    } finally {
      if (abort.current === ac) abort.current = null;
      setRunning(false);
    }
  };
  const cancel = (): void => abort.current?.abort();

  const exportAs = async (format: 'csv' | 'parquet'): Promise<void> => {
    try {
      const name = await download('/v1/export', {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql, format, filename: saveName.trim() || 'query' }),
      }, `query.${format}`);
      setStatus({ kind: 'ok', text: `Exported ${name}.` });
    } catch (e) {
      setStatus({ kind: 'error', text: `Export failed: ${(e as Error).message}` });
    }
  };

  const save = async (): Promise<void> => {
    const name = saveName.trim();
    if (!/^[a-z0-9_-]{1,64}$/.test(name)) {
      setStatus({ kind: 'error', text: 'A saved query name is 1-64 characters: lower-case letters, digits, - and _.' });
      return;
    }
    try {
      await sendJson('PUT', `/v1/queries/${encodeURIComponent(name)}`, { sql, description: saveDescription });
      setStatus({ kind: 'ok', text: `Saved as ${name}.` });
      refreshSaved();
    } catch (e) {
      setStatus({ kind: 'error', text: `Not saved: ${(e as Error).message}` });
    }
  };

  const remove = async (name: string): Promise<void> => {
    if (!confirm(`Delete the saved query ${name}?`)) return;
    try {
      await sendJson('DELETE', `/v1/queries/${encodeURIComponent(name)}`);
      refreshSaved();
    } catch (e) {
      setStatus({ kind: 'error', text: `Not deleted: ${(e as Error).message}` });
    }
  };

  const chart = useMemo(() => (result && chartOn && xCol && yCols.length > 0 ? chartFromResult(result.columns, result.columnTypes, result.rows.slice(0, 2000), xCol, yCols, chartKind) : null), [result, chartOn, xCol, yCols, chartKind]);

  return (
    <div class="page sql-page">
      <h1>SQL console</h1>
      <div class="sql-layout">
        <div class="sql-main">
          <section class="panel editor" aria-labelledby="editor-title">
            <h2 id="editor-title" class="sr-only">Query</h2>
            <label for="sql-editor" class="sr-only">SQL query</label>
            <textarea id="sql-editor" class="sql-editor" spellcheck={false} value={sql} rows={10}
              aria-describedby="sql-help"
              onInput={(e) => setSql((e.target as HTMLTextAreaElement).value)}
              onKeyDown={(e) => {
                if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
                  e.preventDefault();
                  void run();
                } else if (e.key === 'Escape' && running) cancel();
              }} />
            <p id="sql-help" class="hint">DuckDB SQL, one SELECT, over the views on the right. Ctrl+Enter runs, Escape cancels.</p>
            <div class="buttons">
              <button type="button" class="primary" onClick={() => void run()} disabled={running}>Run</button>
              <button type="button" onClick={cancel} disabled={!running}>Cancel</button>
              <label class="inline">Row limit <input type="number" min="1" value={limit} size={7} onInput={(e) => setLimit((e.target as HTMLInputElement).value)} /></label>
              <button type="button" onClick={() => void exportAs('csv')}>Export CSV</button>
              <button type="button" onClick={() => void exportAs('parquet')}>Export Parquet</button>
            </div>
            {status && <p class={`sql-status ${status.kind}`} role={status.kind === 'error' ? 'alert' : 'status'}>{status.text}</p>}
          </section>
          {result && (
            <section class="panel sql-result" aria-labelledby="result-title">
              <h2 id="result-title">Result</h2>
              <DataTable columns={result.columns} columnTypes={result.columnTypes} rows={result.rows} caption="Query result" id="sql-result-table" />
              <fieldset class="chart-builder">
                <legend>Chart</legend>
                <label class="inline"><input type="checkbox" checked={chartOn} onChange={(e) => setChartOn((e.target as HTMLInputElement).checked)} /> Show a chart</label>
                {chartOn && (
                  <>
                    <label>Type
                      <select value={chartKind} onChange={(e) => setChartKind((e.target as HTMLSelectElement).value as 'bar' | 'line')}>
                        <option value="bar">Bars</option><option value="line">Lines</option>
                      </select>
                    </label>
                    <label>X axis
                      <select value={xCol} onChange={(e) => setXCol((e.target as HTMLSelectElement).value)}>
                        {result.columns.map((c) => <option key={c} value={c}>{c}</option>)}
                      </select>
                    </label>
                    <span class="y-pick" role="group" aria-label="Y axis columns">
                      Y axis:{' '}
                      {result.columns.filter((_, i) => isNumericType(result.columnTypes[i] ?? '')).map((c) => (
                        <label key={c} class="inline">
                          <input type="checkbox" checked={yCols.includes(c)} onChange={(e) => setYCols((e.target as HTMLInputElement).checked ? [...yCols, c] : yCols.filter((y) => y !== c))} /> {c}
                        </label>
                      ))}
                    </span>
                  </>
                )}
              </fieldset>
              {chart && (drawable(chart) ? <Chart spec={chart} title={`${yCols.join(', ')} by ${xCol}`} /> : <p class="hint">Nothing numeric to draw in these columns.</p>)}
            </section>
          )}
        </div>
        <aside class="sql-side" aria-label="Saved queries and view schemas">
          <section class="panel saved" aria-labelledby="saved-title">
            <h2 id="saved-title">Saved queries</h2>
            <form class="save-form" onSubmit={(e) => { e.preventDefault(); void save(); }}>
              <label>Name <input type="text" value={saveName} placeholder="night-alerts" pattern="[a-z0-9_\-]{1,64}" onInput={(e) => setSaveName((e.target as HTMLInputElement).value)} /></label>
              <label>Description <input type="text" value={saveDescription} maxLength={1000} onInput={(e) => setSaveDescription((e.target as HTMLInputElement).value)} /></label>
              <button type="submit">Save query</button>
            </form>
            {saved.length === 0 ? <p class="hint">No saved queries yet.</p> : (
              <ul class="saved-list">
                {saved.map((q) => (
                  <li key={q.name}>
                    <button type="button" class="link" title={q.sql} onClick={() => { setSql(q.sql); setSaveName(q.name); setSaveDescription(q.description ?? ''); }}>
                      {q.name}
                    </button>
                    {q.description && <span class="hint"> {q.description}</span>}
                    <button type="button" class="small" onClick={() => void remove(q.name)} aria-label={`Delete saved query ${q.name}`}>Delete</button>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section class="panel schemas" aria-labelledby="schemas-title">
            <h2 id="schemas-title">Views</h2>
            {schemaError && <p class="error">{schemaError}</p>}
            {!schemas && !schemaError && <p class="hint">Loading…</p>}
            {schemas && VIEWS.map((v) => (
              <details key={v} open={v === 'reports'} class="schema" data-view={v}>
                <summary><code>{v}</code> ({schemas[v]?.length ?? 0} columns)</summary>
                <table class="data compact">
                  <thead><tr><th scope="col">Column</th><th scope="col">Type</th></tr></thead>
                  <tbody>
                    {(schemas[v] ?? []).map((c) => (
                      <tr key={c.name}>
                        <td><button type="button" class="link mono" title="Insert at the cursor" onClick={() => insertAtCursor(c.name, setSql)}>{c.name}</button></td>
                        <td class="mono type">{c.type}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </details>
            ))}
          </section>
        </aside>
      </div>
    </div>
  );
}

function insertAtCursor(text: string, setSql: (s: string) => void): void {
  const el = document.getElementById('sql-editor') as HTMLTextAreaElement | null;
  if (!el) return;
  const { selectionStart: a, selectionEnd: b, value } = el;
  const next = value.slice(0, a) + text + value.slice(b);
  setSql(next);
  requestAnimationFrame(() => {
    el.focus();
    el.setSelectionRange(a + text.length, a + text.length);
  });
}
