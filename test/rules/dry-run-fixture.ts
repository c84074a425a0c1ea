/** The dry run's known lake (dry-run.test.ts, api.test.ts): reports and what each rule set must make of them. */
import type { AcceptedReport } from '../../src/contract/types.ts';
import { report } from '../alerts/helpers.ts';
import { CITE } from './fixtures/zones.ts';

const DAY1 = Date.UTC(2026, 10, 1, 10, 0);
const DAY2 = Date.UTC(2026, 10, 2, 10, 0);
const IN = { lat: 48.853, lon: 2.35 };
const OUT = { lat: 48.87, lon: 2.35 };

/** What the lake holds, and what each set must make of it (dedup window 10 minutes). */
export function knownReports(): AcceptedReport[] {
  const r = (droneId: string, ts: number, position: { lat: number; lon: number }, name: string, score: number): AcceptedReport =>
    ({ ...report({ droneId, ts, position, citizens: [{ name, score }] }), tenant: 'paris' });
  const quiet = Array.from({ length: 40 }, (_, i) => r(`quiet-${i % 4}`, DAY1 + i * 60_000, IN, 'nobody', 90));
  return [
    ...quiet,
    r('d1', DAY1, IN, 'a', 30), // proposed: raises (near the Cité, threshold 40)
    r('d1', DAY1 + 30_000, IN, 'a', 31), // proposed: same alert (dedup window)
    r('d1', DAY1 + 2 * 3600_000, IN, 'a', 30), // proposed: a new alert (2 h later)
    r('d2', DAY1, OUT, 'b', 30), // outside: neither
    r('d2', DAY1 + 60_000, OUT, 'c', 10), // both (threshold 20)
    r('d1', DAY2, IN, 'e', 15), // both
    r('d1', DAY2 + 86_400_000, IN, 'f', 1), // after the period
  ];
}

export const PROPOSED = {
  zones: [{ id: 'cite', name: 'Île de la Cité', geometry: CITE }],
  rules: [
    { id: 'base', kind: 'score', threshold: 20, criticalThreshold: 5 },
    { id: 'near-cite', kind: 'score', threshold: 40, criticalThreshold: 5, zone: 'cite' },
  ],
};


/** The grouping the dry-run tests replay with: the configuration's defaults (incidents.radiusMeters 300, windowMinutes 5). */
export const GROUPING = { radiusM: 300, windowMs: 5 * 60_000, growthWindowMs: 5 * 60_000, growingCitizensPerMinute: 0.4, criticalCitizens: 5 };

const DAY5 = Date.UTC(2026, 10, 5, 10, 0);
const DAY6 = Date.UTC(2026, 10, 6, 10, 0);
const DAY7 = Date.UTC(2026, 10, 7, 10, 0);
/** 500 m apart east-west (at lat 48.87 a degree of longitude is ~73.3 km), and their midpoint, 250 m from each. */
const P = { lat: 48.87, lon: 2.35 };
const Q = { lat: 48.87, lon: 2.35682 };
const MID = { lat: 48.87, lon: 2.35341 };

/**
 * A lake for the incident counts (dry-run.test.ts, api.test.ts), with what each set must make of it (grouping above,
 * dedup 10 minutes). Proposed: 8 alerts, 4 incidents; in force (threshold 20): 6 alerts, 3 incidents.
 */
export function incidentReports(): AcceptedReport[] {
  const r = (droneId: string, ts: number, position: { lat: number; lon: number }, name: string, score: number): AcceptedReport =>
    ({ ...report({ droneId, ts, position, citizens: [{ name, score }] }), tenant: 'paris' });
  return [
    // A gathering at the Cité: x1 and x2 (both sets), x3 only under the proposed near-cite threshold (40): one incident.
    r('g1', DAY5, IN, 'x1', 15),
    r('g2', DAY5 + 60_000, { lat: IN.lat + 0.00045, lon: IN.lon }, 'x2', 15),
    r('g1', DAY5 + 120_000, IN, 'x3', 35),
    // Outside: y1 at P and y2 at Q open two incidents (500 m apart); y3 between them links both: merged into y1's.
    r('m1', DAY5 + 3600_000, P, 'y1', 10),
    r('m2', DAY5 + 3660_000, Q, 'y2', 10),
    r('m3', DAY5 + 3720_000, MID, 'y3', 10),
    // The next day: a lone alert outside (both), and one at the Cité only the proposed set raises.
    r('m1', DAY6, P, 'z1', 1),
    r('g1', DAY6 + 5 * 3600_000, IN, 'w1', 35),
    // 2026-11-07, a period of its own: v1 opens an incident at P; t1, far away 6 minutes later, is the replay's next
    // report (the dry run then forgets v1's incident for lookups: out of its 5-minute window); v1 seen again at 8
    // minutes (its alert's 10-minute dedup window) updates the incident, which u1, 50 m away at 10 minutes, joins.
    r('k1', DAY7, P, 'v1', 10),
    r('k9', DAY7 + 360_000, IN, 't1', 10),
    r('k1', DAY7 + 480_000, P, 'v1', 10),
    r('k2', DAY7 + 600_000, { lat: P.lat + 0.00045, lon: P.lon }, 'u1', 10),
  ];
}
