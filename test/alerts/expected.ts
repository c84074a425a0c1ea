import type { AcceptedReport } from '../../src/contract/types.ts';

export interface ExpectedAlert {
  droneId: string;
  citizen: string;
  firstReportId: string;
  lastReportId: string;
  occurrences: number;
  score: number;
}

/**
 * The alerts a list of reports must give, computed independently of the store: score rule only (strictly below
 * `threshold`), dedup by (drone, citizen) while the previous sighting is at most `windowMs` older. Reports of one
 * drone must be in time order (as the tests publish them). Keyed by `<firstReportId>|<citizen>`.
 */
export function expectedAlerts(reports: readonly AcceptedReport[], threshold: number, windowMs: number): Map<string, ExpectedAlert> {
  const out = new Map<string, ExpectedAlert>();
  const current = new Map<string, ExpectedAlert & { lastTs: number }>();
  for (const r of reports) {
    // A name listed twice in one report is one sighting with the lowest score.
    const below = new Map<string, number>();
    for (const c of r.citizens) if (c.score < threshold) below.set(c.name, Math.min(c.score, below.get(c.name) ?? Infinity));
    for (const [name, score] of below) {
      const key = `${r.droneId}|${name}`;
      const open = current.get(key);
      if (open && r.ts - open.lastTs <= windowMs) {
        open.occurrences++;
        open.lastTs = r.ts;
        open.lastReportId = r.reportId;
        open.score = Math.min(open.score, score);
      } else {
        const a = { droneId: r.droneId, citizen: name, firstReportId: r.reportId, lastReportId: r.reportId, occurrences: 1, score, lastTs: r.ts };
        current.set(key, a);
        out.set(`${r.reportId}|${name}`, a);
      }
    }
  }
  return out;
}

/** Deterministic pseudo-random reports: `drones` drones, one report per drone per `stepMs`, ~`alertRate` of citizens below 20. */
export function generateReports(opts: { count: number; drones: number; stepMs: number; alertRate: number; seed?: number; start?: number }): AcceptedReport[] {
  let s = opts.seed ?? 7;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const start = opts.start ?? 1_700_000_000_000;
  const names = ['ann', 'bob', 'cid', 'dee'];
  const out: AcceptedReport[] = [];
  for (let i = 0; i < opts.count; i++) {
    const drone = `drone-${i % opts.drones}`;
    const ts = start + Math.floor(i / opts.drones) * opts.stepMs;
    const citizens = names.slice(0, 1 + Math.floor(rnd() * 3)).map((name) => ({
      name,
      score: rnd() < opts.alertRate ? Math.floor(rnd() * 20) : 20 + Math.floor(rnd() * 80),
    }));
    out.push({
      droneId: drone,
      timestamp: new Date(ts).toISOString(),
      position: { lat: 48.8 + rnd() / 10, lon: 2.3 + rnd() / 10 },
      citizens,
      words: [],
      reportId: `${drone}:${ts}`,
      ts,
      receivedAt: ts,
      tenant: 'default',
    });
  }
  return out;
}
