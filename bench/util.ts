/** Shared by the benchmarks: percentiles and a printed table. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export function printTable(title: string, rows: Record<string, number | string>): void {
  const width = Math.max(...Object.keys(rows).map((k) => k.length));
  process.stdout.write(`\n## ${title}\n`);
  for (const [k, v] of Object.entries(rows)) {
    const text = typeof v === 'number' ? (Number.isInteger(v) ? v.toLocaleString('en-US') : v.toFixed(3)) : v;
    process.stdout.write(`  ${k.padEnd(width)}  ${text}\n`);
  }
}

export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && url === new URL(`file://${process.argv[1]}`).href;
}
