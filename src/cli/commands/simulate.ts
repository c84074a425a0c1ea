import { Option, type Command } from 'commander';
import { ConfigError } from '../../errors/index.ts';
import type { ReportSink, SimulatorMode, SimulatorProgress } from '../../simulator/index.ts';
import { createProgressBar, type ProgressBar } from '../../util/progress.ts';
import { configFrom, dateOption, given, intOption, numberOption } from './common.ts';
import { runService } from './run-service.ts';

interface SimulateOpts {
  drones?: number;
  speed?: number;
  seed?: number;
  realtime?: boolean;
  from?: Date;
  days?: number;
  target?: string;
  token?: string;
  mqttUser?: string;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run the drone fleet simulator (the producer): into the stream, or to an HTTP ingest with --target')
    .addOption(new Option('--drones <n>', 'number of drones (default 1000)').argParser(intOption('--drones', 1)))
    .addOption(new Option('--speed <x>', 'accelerated: simulated seconds per real second (default 60)').argParser(numberOption('--speed')))
    .addOption(new Option('--seed <n>', 'random seed (same seed, same reports)').argParser(intOption('--seed')))
    .option('--realtime', 'one report per drone per real minute')
    .addOption(new Option('--from <date>', 'backfill: first simulated day (e.g. 2026-11-01)').argParser(dateOption('--from')))
    .addOption(new Option('--days <n>', 'backfill: number of days').argParser(numberOption('--days')))
    .addOption(new Option('--target <url>', 'send reports to a dronewatch HTTP API (http[s]://...) or, as drones in the field do, to nats-server\'s MQTT listener (mqtt://host:1883: each report kept until acknowledged on drones/<id>/acks), instead of the stream'))
    .addOption(new Option('--token <token>', 'bearer token for an HTTP --target').env('DRONEWATCH_TOKEN'))
    .addOption(new Option('--mqtt-user <name>', 'MQTT user for an mqtt:// --target (password: DRONEWATCH_MQTT_PASSWORD)'))
    .action(async (opts: SimulateOpts, cmd: Command) => {
      const config = configFrom(cmd, given(opts, { drones: 'simulator.drones', speed: 'simulator.speed', seed: 'simulator.seed' }));
      const backfill = opts.from !== undefined || opts.days !== undefined;
      if (backfill && (opts.realtime || opts.speed !== undefined)) {
        throw new ConfigError('--from/--days (backfill) cannot be combined with --realtime or --speed');
      }
      const mode: SimulatorMode = backfill ? 'backfill' : opts.realtime ? 'realtime' : 'accelerated';
      const days = opts.days ?? 1;
      if (opts.target) {
        // The simulator (and its MQTT client) only for the command that runs it.
        const { httpSink, mqttSink } = await import('../../simulator/index.ts');
        const o = { ...config.simulator, mode, days, ...(opts.from ? { from: opts.from } : {}) };
        if (/^mqtts?:\/\//.test(opts.target)) {
          const password = process.env.DRONEWATCH_MQTT_PASSWORD;
          await simulateTo(opts.target, (signal) => mqttSink(opts.target!, {
            signal, ...(opts.mqttUser !== undefined ? { username: opts.mqttUser } : {}), ...(password !== undefined ? { password } : {}),
          }), o);
        } else {
          await simulateTo(opts.target, async (signal) => httpSink(opts.target!, { ...(opts.token ? { token: opts.token } : {}), signal }), o);
        }
        return;
      }
      const progress = backfillProgress(mode);
      const run = await runService('simulate', config, {
        simulator: {
          mode, onProgress: progress.onProgress,
          ...(mode === 'accelerated' ? { speed: config.simulator.speed } : {}), ...(backfill ? { days } : {}), ...(opts.from ? { from: opts.from } : {}),
        },
      }, {
        untilSimulatorDone: true,
        summary: !backfill,
        banner: () => `simulating ${config.simulator.drones} drones (${mode}${backfill ? `, ${days} day(s)` : ''}) into ${config.stream.url}`,
      });
      await run.done;
      progress.done();
    });
}

/** Backfills show a progress bar on stderr (created at the first progress, when the run knows its total). */
function backfillProgress(mode: string): { onProgress: (p: SimulatorProgress) => void; done: () => void } {
  let bar: ProgressBar | undefined;
  return {
    onProgress: (p) => {
      if (mode !== 'backfill') return;
      bar ??= createProgressBar(process.stderr, p.total ?? 0, 'reports');
      bar.update(p.emitted);
    },
    done: () => bar?.done(),
  };
}

async function simulateTo(target: string, sinkOf: (signal: AbortSignal) => Promise<ReportSink & { close?: () => Promise<void> }>, o: {
  drones: number; seed: number; bbox: [number, number, number, number]; gatherings: number; speed: number; mode: 'realtime' | 'accelerated' | 'backfill'; days: number; from?: Date;
}): Promise<void> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const progress = backfillProgress(o.mode);
  const sink = await sinkOf(abort.signal);
  try {
    const { runSimulator } = await import('../../simulator/index.ts');
    const { emitted } = await runSimulator({
      drones: o.drones, seed: o.seed, bbox: o.bbox, gatherings: o.gatherings, mode: o.mode,
      ...(o.mode === 'accelerated' ? { speed: o.speed } : {}),
      ...(o.mode === 'backfill' ? { days: o.days, ...(o.from ? { from: o.from } : {}) } : {}),
      sink,
      signal: abort.signal,
      onProgress: progress.onProgress,
    });
    progress.done();
    process.stdout.write(`sent ${emitted} reports to ${target}\n`);
  } finally {
    await sink.close?.();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
