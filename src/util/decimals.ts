/**
 * How many decimals to show for a column of numbers, so that a table reads as precisely as its data is, and no more.
 * Pure and dependency-free: the CLI's tables (src/lake/format.ts) and the dashboard's (web/src/lib/format.ts) use it.
 *
 * - Integers only (counts): undefined, shown as they are.
 * - Numbers with few decimals (coordinates of grid cells, scores like 12.5): the fewest decimals, at most 6, that
 *   show every value of the column exactly, the same for the whole column (48.870 above 48.875: two cells that differ
 *   never look alike).
 * - Computed ratios and averages (29.685718259722474): about four significant digits on the column's largest value
 *   (29.69, 0.01235, 1,234.6), the same decimals for the whole column so the figures line up.
 * Exports keep every digit: this is for display only.
 */
export function columnDecimals(values: readonly unknown[]): number | undefined {
  const xs: number[] = [];
  for (const v of values) if (typeof v === 'number' && Number.isFinite(v)) xs.push(v);
  if (xs.length === 0 || xs.every((x) => Number.isInteger(x))) return undefined;
  for (let d = 1; d <= 6; d++) {
    const p = 10 ** d;
    if (xs.every((x) => Math.abs(Math.round(x * p) / p - x) <= 1e-12 * Math.max(1, Math.abs(x)))) return d;
  }
  const maxAbs = Math.max(...xs.map(Math.abs));
  return Math.min(6, Math.max(1, 3 - Math.floor(Math.log10(maxAbs))));
}
