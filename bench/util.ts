/** Shared by the benchmarks: percentiles, a printed table, and the checks that make a benchmark fail instead of print. */
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

/** Throws when a measurement got no sample: its percentiles would be NaN, and a table of NaN is not a result. */
export function requireSamples(what: string, samples: readonly unknown[]): void {
  if (samples.length === 0) throw new Error(`no samples: ${what}`);
}

/**
 * What is wrong with a suite's figures, if anything: no figure at all, a figure that is not a number (NaN, Infinity,
 * also inside a formatted string such as "NaN / NaN (0)"), or a sample count of 0. Says nothing about the values
 * themselves: a slow run is still a run.
 */
export function figureProblems(rows: Record<string, number | string>): string[] {
  const problems: string[] = [];
  const entries = Object.entries(rows);
  if (entries.length === 0) problems.push('no figures');
  for (const [k, v] of entries) {
    if (isSkip(k, v)) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) problems.push(`"${k}" is ${v}`);
    else if (typeof v === 'string' && /\b(NaN|Infinity)\b/.test(v)) problems.push(`"${k}" is "${v}"`);
    else if (/samples/i.test(k) && v === 0) problems.push(`"${k}" is 0`);
  }
  return problems;
}

/** The parts a suite skipped (a server it needs is not installed): `skipped` rows, or values starting with "skipped". */
export function skippedParts(rows: Record<string, number | string>): string[] {
  return Object.entries(rows).filter(([k, v]) => isSkip(k, v)).map(([k, v]) => (k === 'skipped' ? String(v) : `${k}: ${v}`));
}

function isSkip(k: string, v: number | string): boolean {
  return k === 'skipped' || (typeof v === 'string' && v.startsWith('skipped'));
}

/** `promise`, or a rejection naming `what` after `ms` (the timer does not outlive the promise). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: not done after ${Math.round(ms / 1000)} s`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fixed report, as a drone sends it: what `machinePace` parses. */
const PACE_REPORT = JSON.stringify({
  droneId: 'drone-00980', timestamp: '2026-11-20T00:00:00.150Z', position: { lat: 48.81717, lon: 2.350655 },
  citizens: [{ name: 'Damien Roy-Leclerc', score: 75.9 }, { name: 'Julie-Emilie Bailly', score: 78.6 }], words: ['pharmacie', 'merci', 'oui', 'baguette'],
});

/**
 * How fast this machine runs single-threaded JavaScript right now: microseconds for one JSON.parse of a 250-byte report,
 * the best of 10 rounds of 2,000 (~50-100 ms in all). The machines are virtual and shared: on the same code and load average
 * the same figure has moved 3x from one day to the next, so every run prints this beside the load average, and a
 * figure is compared with another run's only in proportion to it.
 */
export function machinePace(): number {
  let best = Number.POSITIVE_INFINITY;
  let sink = 0;
  for (let round = 0; round < 10; round++) {
    const t0 = performance.now();
    for (let i = 0; i < 2000; i++) sink += (JSON.parse(PACE_REPORT) as { citizens: unknown[] }).citizens.length;
    best = Math.min(best, ((performance.now() - t0) * 1000) / 2000);
  }
  if (sink === 0) throw new Error('unreachable: keeps the parse from being optimised away');
  return best;
}
