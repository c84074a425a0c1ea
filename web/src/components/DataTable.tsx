import { useEffect, useMemo, useState } from 'preact/hooks';
import { formatCell, resultDecimals } from '../lib/format.ts';
import { isNumericType } from './Chart.tsx';

const PAGE_SIZES = [25, 50, 100, 500];

/**
 * A query result as a table, a page at a time (a result holds up to `analysis.maxRows` rows, 10,000 by default).
 * Numbers are rounded to the precision each column has (src/util/decimals.ts); exports keep every digit.
 */
export function DataTable({ columns, columnTypes, rows, caption, id }: { columns: string[]; columnTypes: string[]; rows: unknown[][]; caption: string; id?: string }) {
  const [page, setPage] = useState(0);
  const [size, setSize] = useState(50);
  useEffect(() => setPage(0), [rows]);
  const pages = Math.max(1, Math.ceil(rows.length / size));
  const p = Math.min(page, pages - 1);
  const slice = rows.slice(p * size, p * size + size);
  const numeric = columnTypes.map(isNumericType);
  // Decimals per column from all its rows, not the page's: the column keeps its precision while paging.
  const decimals = useMemo(() => resultDecimals(columns, rows), [columns, rows]);
  return (
    <div class="table-block" id={id}>
      <div class="table-scroll" tabIndex={0} role="region" aria-label={caption}>
        <table class="data">
          <caption class="sr-only">{caption}</caption>
          <thead>
            <tr>
              {columns.map((c, i) => (
                <th scope="col" key={c} title={columnTypes[i]} class={numeric[i] ? 'num' : ''}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {slice.map((r, ri) => (
              <tr key={p * size + ri}>
                {r.map((v, ci) => (
                  <td key={ci} class={`${numeric[ci] ? 'num' : ''} ${v === null ? 'null' : ''}`}>{formatCell(v, decimals[ci])}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <nav class="pager" aria-label={`${caption}: pages`}>
        <button type="button" onClick={() => setPage(0)} disabled={p === 0} aria-label="First page">«</button>
        <button type="button" onClick={() => setPage(p - 1)} disabled={p === 0} aria-label="Previous page">‹</button>
        <span class="page-info" aria-live="polite">
          Rows {rows.length === 0 ? 0 : p * size + 1}–{Math.min(rows.length, (p + 1) * size)} of {rows.length} (page {p + 1} of {pages})
        </span>
        <button type="button" onClick={() => setPage(p + 1)} disabled={p >= pages - 1} aria-label="Next page">›</button>
        <button type="button" onClick={() => setPage(pages - 1)} disabled={p >= pages - 1} aria-label="Last page">»</button>
        <label>
          Rows per page{' '}
          <select value={size} onChange={(e) => { setSize(Number((e.target as HTMLSelectElement).value)); setPage(0); }}>
            {PAGE_SIZES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
      </nav>
    </div>
  );
}
