import type { Report } from '../../src/contract/index.ts';

/** "Now" used by the tests: reports are at or before it unless a test says otherwise. */
export const NOW = Date.parse('2026-11-28T03:15:00Z');

/** A valid report; `overrides` replace top-level fields (use `undefined` values via `omit`). */
export function validReport(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Report = {
    droneId: 'paris-07.alpha_1',
    timestamp: '2026-11-28T03:10:00Z',
    position: { lat: 48.8566, lon: 2.3522 },
    citizens: [
      { name: 'Jeanne Dupont', score: 87.5 },
      { name: 'Ali Benali', score: 12 },
    ],
    words: ['bonjour', 'manif'],
  };
  return { ...structuredClone(base), ...overrides };
}

export function omit(obj: Record<string, unknown>, key: string): Record<string, unknown> {
  const copy = { ...obj };
  delete copy[key];
  return copy;
}

export function citizens(n: number): { name: string; score: number }[] {
  return Array.from({ length: n }, (_, i) => ({ name: `Citizen ${i}`, score: i % 101 }));
}
