/** Prometheus text, as the tests read it: every sample by its series (`name{labels}`), and the sum over a selection. */
export type Samples = Map<string, number>;

export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/** Sum of the samples of `name` whose labels include every one of `labels` (`{ tenant: 'default' }`). */
export function total(s: Samples, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const [series, v] of s) {
    const brace = series.indexOf('{');
    const n = brace === -1 ? series : series.slice(0, brace);
    if (n !== name) continue;
    const ls = brace === -1 ? '' : series.slice(brace);
    if (Object.entries(labels).every(([k, want]) => ls.includes(`${k}="${want}"`))) sum += v;
  }
  return sum;
}

/** The label sets of a metric's series, as objects. */
export function seriesOf(s: Samples, name: string): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  for (const series of s.keys()) {
    if (!series.startsWith(`${name}{`)) continue;
    const labels: Record<string, string> = {};
    for (const m of series.slice(name.length + 1, -1).matchAll(/(\w+)="([^"]*)"/g)) labels[m[1]!] = m[2]!;
    out.push(labels);
  }
  return out;
}
