/**
 * Simulator throughput: how many reports per second backfill produces into a no-op sink, next to two baselines
 * that bound what is achievable in this process: JSON.stringify of the very same reports (what any sink does next),
 * and a loop producing fixed objects of the same shape (the cost of allocation alone).
 *
 * generateAndKeepReportsPerSec keeps every report in memory (for the stringify baseline), so it also pays for the
 * garbage collector moving them to the old generation: it is lower than the backfill rate.
 *
 * Run: node --import tsx bench/simulator.ts [reports]   (default 500,000)
 */
import { pathToFileURL } from 'node:url';
import type { Report } from '../src/contract/types.ts';
import { Fleet, runSimulator } from '../src/simulator/index.ts';

const DRONES = 1000;
const FROM = new Date(Date.UTC(2024, 0, 1));

function ratePerSec(count: number, ms: number): number {
  return Math.round((count / ms) * 1000);
}

export async function benchSimulator(opts: { reports: number }): Promise<Record<string, number>> {
  const minutes = Math.max(1, Math.ceil(opts.reports / DRONES));
  const until = new Date(FROM.getTime() + minutes * 60_000);
  const noop = async (): Promise<void> => {};

  // Warm-up, so that the timed runs measure optimised code.
  await runSimulator({ mode: 'backfill', drones: DRONES, seed: 7, from: FROM, until: new Date(FROM.getTime() + 20 * 60_000), sink: noop });

  let t = performance.now();
  const fleet = new Fleet({ drones: DRONES, seed: 1, start: FROM });
  const constructMs = performance.now() - t;

  t = performance.now();
  const { emitted } = await runSimulator({ mode: 'backfill', drones: DRONES, seed: 1, from: FROM, until, sink: noop, batchSize: 1000 });
  const backfillMs = performance.now() - t;

  t = performance.now();
  const batches: Report[][] = [];
  for (;;) {
    const batch = fleet.take(1000, until.getTime());
    if (batch.length === 0) break;
    batches.push(batch);
  }
  const generateMs = performance.now() - t;

  t = performance.now();
  let bytes = 0;
  for (const batch of batches) for (const r of batch) bytes += JSON.stringify(r).length;
  const stringifyMs = performance.now() - t;
  batches.length = 0;

  t = performance.now();
  let sink = 0;
  for (let b = 0; b < emitted; b += 1000) {
    const batch: Report[] = [];
    for (let i = 0; i < 1000 && b + i < emitted; i++) {
      batch.push({
        droneId: 'drone-00042',
        timestamp: '2024-01-01T00:00:17.342Z',
        position: { lat: 48.85, lon: 2.35 },
        citizens: [{ name: 'Jeanne Martin', score: 87.5 }, { name: 'Paul Durand', score: 71.2 }, { name: 'Léa Petit', score: 90.1 }],
        words: ['bonjour', 'rue', 'café', 'métro'],
      });
    }
    sink += batch.length;
  }
  const fixedMs = performance.now() - t;

  const memBefore = process.memoryUsage();
  t = performance.now();
  const big = new Fleet({ drones: 100_000, seed: 1, start: FROM });
  const bigMs = performance.now() - t;
  const memAfter = process.memoryUsage();
  const bigMb = (memAfter.heapUsed + memAfter.arrayBuffers - memBefore.heapUsed - memBefore.arrayBuffers) / 1e6;
  if (big.size !== 100_000 || sink !== emitted) throw new Error('benchmark sanity check failed');

  return {
    reports: emitted,
    backfillReportsPerSec: ratePerSec(emitted, backfillMs),
    generateAndKeepReportsPerSec: ratePerSec(emitted, generateMs),
    jsonStringifyReportsPerSec: ratePerSec(emitted, stringifyMs),
    jsonBytesPerReport: Math.round(bytes / emitted),
    fixedObjectsPerSec: ratePerSec(emitted, fixedMs),
    fleetConstructMs: Math.round(constructMs),
    fleet100kConstructMs: Math.round(bigMs),
    fleet100kMemoryMb: Math.round(bigMb * 10) / 10,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reports = Number(process.argv[2] ?? 500_000);
  const result = await benchSimulator({ reports });
  for (const [k, v] of Object.entries(result)) console.log(`${k.padEnd(28)} ${v.toLocaleString('en-US')}`);
}
