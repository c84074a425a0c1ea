import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import type { Report } from '../../src/contract/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { Fleet, runSimulator, type SimulatorProgress } from '../../src/simulator/index.ts';

const FROM = new Date(Date.UTC(2024, 5, 10, 12, 0, 0));
/** Small populations keep construction cheap; the population does not matter to the runner. */
const SMALL = { population: 2000 } as const;

describe('runSimulator', () => {
  describe('backfill', () => {
    it('emits exactly drones x minutes reports over the window, then resolves', async () => {
      const batches: Report[][] = [];
      const progress: SimulatorProgress[] = [];
      const result = await runSimulator({
        ...SMALL,
        mode: 'backfill',
        drones: 20,
        seed: 5,
        from: FROM,
        days: 1 / 24,
        batchSize: 77,
        sink: async (b) => {
          batches.push(b);
        },
        onProgress: (p) => progress.push(p),
      });
      const all = batches.flat();
      assert.equal(result.emitted, 20 * 60);
      assert.equal(all.length, 20 * 60);
      assert.ok(batches.every((b) => b.length >= 1 && b.length <= 77));
      const end = FROM.getTime() + 3_600_000;
      assert.ok(all.every((r) => Date.parse(r.timestamp) >= FROM.getTime() && Date.parse(r.timestamp) < end));
      const perDrone = new Map<string, number>();
      for (const r of all) perDrone.set(r.droneId, (perDrone.get(r.droneId) ?? 0) + 1);
      assert.equal(perDrone.size, 20);
      assert.ok([...perDrone.values()].every((n) => n === 60));
      assert.equal(progress.at(-1)?.emitted, 1200);
      assert.ok(progress.every((p) => p.total === 1200));
      assert.ok(progress.every((p, i) => i === 0 || p.simulatedTime >= progress[i - 1]!.simulatedTime));
    });

    it('is exact from a start in the middle of a minute too, and equals the Fleet output', async () => {
      const from = new Date(FROM.getTime() + 42_123);
      const got: Report[] = [];
      await runSimulator({ ...SMALL, mode: 'backfill', drones: 7, seed: 9, from, until: new Date(from.getTime() + 15 * 60_000), sink: async (b) => void got.push(...b) });
      assert.equal(got.length, 7 * 15);
      assert.deepEqual(got, new Fleet({ ...SMALL, drones: 7, seed: 9, start: from }).take(1000, from.getTime() + 15 * 60_000));
    });

    it('waits for the sink before producing more (backpressure)', async () => {
      let inFlight = 0;
      let maxInFlight = 0;
      let calls = 0;
      await runSimulator({
        ...SMALL,
        mode: 'backfill',
        drones: 10,
        from: FROM,
        days: 1 / 144,
        batchSize: 10,
        sink: async () => {
          calls++;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await sleep(1);
          inFlight--;
        },
      });
      assert.equal(calls, 10);
      assert.equal(maxInFlight, 1);
    });

    it('stops on abort and resolves with what was emitted', async () => {
      const ac = new AbortController();
      let emitted = 0;
      const result = await runSimulator({
        ...SMALL,
        mode: 'backfill',
        drones: 100,
        from: FROM,
        days: 1,
        batchSize: 100,
        signal: ac.signal,
        sink: async (b) => {
          emitted += b.length;
          if (emitted >= 500) ac.abort();
        },
      });
      assert.equal(result.emitted, 500);
    });

    it('propagates a sink failure', async () => {
      await assert.rejects(
        runSimulator({ ...SMALL, mode: 'backfill', drones: 5, from: FROM, days: 1, sink: async () => Promise.reject(new Error('disk full')) }),
        /disk full/,
      );
    });
  });

  describe('realtime and accelerated', () => {
    it('realtime: emits reports when their time comes, timestamps near now, until aborted', async () => {
      const ac = new AbortController();
      const started = Date.now();
      const lags: number[] = [];
      let count = 0;
      const run = runSimulator({
        ...SMALL,
        mode: 'realtime',
        drones: 3000, // 50 reports per second
        signal: ac.signal,
        sink: async (b) => {
          const now = Date.now();
          for (const r of b) {
            const ts = Date.parse(r.timestamp);
            assert.ok(ts >= started - 1, `report from before the start: ${r.timestamp}`);
            lags.push(now - ts);
          }
          count += b.length;
        },
      });
      await sleep(1200);
      ac.abort();
      const result = await run;
      assert.equal(result.emitted, count);
      assert.ok(count >= 10, `only ${count} reports in 1.2 s from 3000 drones`);
      // Never early (1 ms of clock rounding), and late only by a tick plus scheduling noise on a busy machine.
      assert.ok(Math.min(...lags) >= -1, `a report came ${-Math.min(...lags)} ms early`);
      assert.ok(Math.max(...lags) < 1000, `a report came ${Math.max(...lags)} ms late`);
    });

    it('accelerated: runs the simulated clock at `speed` and stops by itself at `until`', async () => {
      const from = new Date(FROM.getTime());
      const until = new Date(from.getTime() + 3 * 60_000);
      const speed = 900; // three simulated minutes in 0.2 s
      const got: Report[] = [];
      const startedAt = performance.now();
      const result = await runSimulator({
        ...SMALL,
        mode: 'accelerated',
        speed,
        drones: 50,
        from,
        until,
        sink: async (b) => {
          const simulatedNow = from.getTime() + (performance.now() - startedAt) * speed;
          for (const r of b) assert.ok(Date.parse(r.timestamp) <= simulatedNow + speed, `${r.timestamp} emitted ahead of the clock`);
          got.push(...b);
        },
      });
      assert.equal(result.emitted, 150);
      assert.equal(got.length, 150);
      assert.ok(got.every((r) => Date.parse(r.timestamp) < until.getTime()));
    });
    it('accelerated: never emits a report from the future; once caught up with now it goes on live', async () => {
      const from = new Date(Date.now() - 2 * 60_000);
      const ac = new AbortController();
      const got: Report[] = [];
      const run = runSimulator({
        ...SMALL, mode: 'accelerated', speed: 600, drones: 20, from, signal: ac.signal,
        sink: async (b) => {
          const now = Date.now();
          for (const r of b) assert.ok(Date.parse(r.timestamp) <= now, `${r.timestamp} is after now`);
          got.push(...b);
        },
      });
      await new Promise((r) => setTimeout(r, 1500)); // 600x would reach 15 minutes ahead without the clamp
      ac.abort();
      await run;
      assert.ok(got.length >= 20, `the two past minutes were replayed (${got.length} reports)`);
      assert.ok(Date.parse(got[got.length - 1]!.timestamp) > Date.now() - 2 * 60_000 + 60_000, 'reached the present');
    });
  });

  describe('options', () => {
    const sink = async (): Promise<void> => {};
    it('refuses a speed in realtime mode, days with until, and an empty window', async () => {
      await assert.rejects(runSimulator({ mode: 'realtime', speed: 10, sink }), ConfigError);
      await assert.rejects(runSimulator({ mode: 'backfill', from: FROM, days: 1, until: new Date(FROM.getTime() + 1), sink }), ConfigError);
      await assert.rejects(runSimulator({ mode: 'backfill', from: FROM, until: FROM, sink }), ConfigError);
      await assert.rejects(runSimulator({ mode: 'backfill', batchSize: 0, sink }), ConfigError);
    });

    it('backfills the last day up to now by default', async () => {
      const progress: SimulatorProgress[] = [];
      const ac = new AbortController();
      await runSimulator({ ...SMALL, mode: 'backfill', drones: 2, batchSize: 2, signal: ac.signal, sink, onProgress: (p) => {
        progress.push(p);
        ac.abort();
      } });
      assert.equal(progress[0]?.total, 2 * 24 * 60);
      const dayAgo = Date.now() - 86_400_000;
      assert.ok(Math.abs(progress[0]!.simulatedTime - dayAgo) < 2 * 60_000);
    });
  });
});
