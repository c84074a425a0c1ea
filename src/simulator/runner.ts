import { setTimeout as sleep } from 'node:timers/promises';
import type { Report } from '../contract/types.ts';
import { ConfigError, type FieldError } from '../errors/index.ts';
import { Fleet, REPORT_INTERVAL_MS } from './fleet.ts';
import type { FleetOptions } from './options.ts';

export type SimulatorMode = 'realtime' | 'accelerated' | 'backfill';

/** Receives reports in timestamp order; the runner awaits it before producing more (backpressure). */
export type ReportSink = (batch: Report[]) => Promise<void>;

export interface SimulatorProgress {
  emitted: number;
  /** Simulated clock, epoch ms. */
  simulatedTime: number;
  /** Reports the run will emit in all, when it has an end. */
  total?: number;
}

export interface RunSimulatorOptions extends Omit<FleetOptions, 'start'> {
  mode: SimulatorMode;
  /** Accelerated mode: simulated seconds per real second. Default 60. */
  speed?: number;
  /** Simulated start. Default: now, or `days` before now (to the minute) in backfill. */
  from?: Date;
  /** Length of the run in simulated days (backfill default 1). Exclusive with `until`. */
  days?: number;
  /** Simulated end (exclusive). Realtime and accelerated runs without an end run until aborted. */
  until?: Date;
  sink: ReportSink;
  /** Most reports per sink call. Default 1000. */
  batchSize?: number;
  /** Aborting stops the run after the sink call in progress; the promise then resolves with what was emitted. */
  signal?: AbortSignal;
  onProgress?: (p: SimulatorProgress) => void;
  /**
   * Accelerated: the simulated clock never passes the wall clock (reports from the future would be rejected by
   * ingestion); once it has caught up with now, the run goes on in real time. Default true.
   */
  notAfterNow?: boolean;
  /** Realtime and accelerated: how often due reports are collected, ms. Default 20. */
  tickMs?: number;
}

const DAY_MS = 86_400_000;
/** Longest sleep between ticks when nothing is due, so an abort or a clock change is noticed quickly. */
const MAX_IDLE_SLEEP_MS = 250;

interface Plan {
  fleet: Fleet;
  from: number;
  end: number;
  total: number | undefined;
  speed: number;
  batchSize: number;
  tickMs: number;
  clampToNow: boolean;
}

function plan(opts: RunSimulatorOptions): Plan {
  const errors: FieldError[] = [];
  const { mode } = opts;
  if (mode !== 'realtime' && mode !== 'accelerated' && mode !== 'backfill') {
    errors.push({ field: 'mode', reason: 'must be realtime, accelerated or backfill' });
  }
  if (opts.speed !== undefined && !(Number.isFinite(opts.speed) && opts.speed > 0)) {
    errors.push({ field: 'speed', reason: 'must be a positive number' });
  }
  if (mode === 'realtime' && opts.speed !== undefined && opts.speed !== 1) {
    errors.push({ field: 'speed', reason: 'realtime runs at speed 1: use accelerated mode for another speed' });
  }
  if (opts.days !== undefined && !(Number.isFinite(opts.days) && opts.days > 0)) {
    errors.push({ field: 'days', reason: 'must be a positive number' });
  }
  if (opts.days !== undefined && opts.until !== undefined) errors.push({ field: 'until', reason: 'give days or until, not both' });
  const batchSize = opts.batchSize ?? 1000;
  if (!Number.isInteger(batchSize) || batchSize < 1) errors.push({ field: 'batchSize', reason: 'must be a positive integer' });
  const tickMs = opts.tickMs ?? 20;
  if (!(Number.isFinite(tickMs) && tickMs >= 1)) errors.push({ field: 'tickMs', reason: 'must be >= 1' });

  const now = Date.now();
  let from: number;
  if (opts.from !== undefined) from = opts.from.getTime();
  else if (mode === 'backfill') from = Math.floor((now - (opts.days ?? 1) * DAY_MS) / REPORT_INTERVAL_MS) * REPORT_INTERVAL_MS;
  // Accelerated without a start replays the last day, then (notAfterNow) goes on live.
  else if (mode === 'accelerated' && opts.notAfterNow !== false) from = Math.floor((now - DAY_MS) / REPORT_INTERVAL_MS) * REPORT_INTERVAL_MS;
  else from = now;
  let end: number;
  if (opts.until !== undefined) end = opts.until.getTime();
  else if (opts.days !== undefined || mode === 'backfill') end = from + (opts.days ?? 1) * DAY_MS;
  else end = Number.POSITIVE_INFINITY;
  if (Number.isNaN(from)) errors.push({ field: 'from', reason: 'must be a valid date' });
  if (Number.isNaN(end) || !(end > from)) errors.push({ field: 'until', reason: 'must be a valid date after from' });
  if (errors.length > 0) {
    throw new ConfigError(`invalid simulator run: ${errors.map((e) => `${e.field}: ${e.reason}`).join('; ')}`, errors);
  }

  const { mode: _m, speed: _s, from: _f, days: _d, until: _u, sink: _k, batchSize: _b, signal: _g, onProgress: _p, tickMs: _t, notAfterNow: _n, ...fleetOpts } = opts;
  const fleet = new Fleet({ ...fleetOpts, start: from });
  const speed = mode === 'realtime' ? 1 : (opts.speed ?? 60);
  const clampToNow = mode === 'accelerated' && opts.notAfterNow !== false;
  return { fleet, from, end, total: Number.isFinite(end) ? fleet.countBetween(from, end) : undefined, speed, batchSize, tickMs, clampToNow };
}

/**
 * Runs a simulated fleet into a sink.
 * - backfill: every report from `from` for `days` (or until `until`), as fast as the sink accepts, then resolves;
 * - realtime / accelerated: each report is emitted when its simulated time comes on a clock running at `speed`
 *   (reports due within one tick go out together), until `until` or an abort. A sink slower than the clock makes the
 *   run fall behind, never drop reports: the backlog is emitted as fast as the sink accepts.
 * Options are checked before anything runs (ConfigError). An abort resolves with the count emitted so far.
 */
export async function runSimulator(opts: RunSimulatorOptions): Promise<{ emitted: number }> {
  const p = plan(opts);
  const { fleet, end, total, batchSize } = p;
  const { sink, signal, onProgress } = opts;
  let emitted = 0;

  const emitUntil = async (until: number, clock: () => number): Promise<void> => {
    while (!signal?.aborted) {
      const batch = fleet.take(batchSize, until);
      if (batch.length === 0) return;
      await sink(batch);
      emitted += batch.length;
      onProgress?.(total === undefined ? { emitted, simulatedTime: clock() } : { emitted, simulatedTime: clock(), total });
    }
  };

  if (opts.mode === 'backfill') {
    await emitUntil(end, () => Math.min(fleet.nextTime, end));
    return { emitted };
  }

  const realStart = performance.now();
  const simNow = p.clampToNow
    ? (): number => Math.min(p.from + (performance.now() - realStart) * p.speed, Date.now())
    : (): number => p.from + (performance.now() - realStart) * p.speed;
  while (!signal?.aborted) {
    // Reports at or before the simulated now are due: `take` excludes its bound, hence the +1 ms on a whole ms.
    await emitUntil(Math.min(Math.floor(simNow()) + 1, end), () => Math.min(simNow(), end));
    if (fleet.nextTime >= end || signal?.aborted) break;
    const wait = Math.min(MAX_IDLE_SLEEP_MS, Math.max(p.tickMs, (fleet.nextTime - simNow()) / p.speed));
    try {
      await sleep(wait, undefined, signal ? { signal } : undefined);
    } catch (e) {
      if (signal?.aborted) break;
      throw e;
    }
  }
  return { emitted };
}
