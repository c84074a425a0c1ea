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

