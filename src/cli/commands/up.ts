import { Option, type Command } from 'commander';
import type { Platform } from '../../runtime/platform.ts';
import { configFrom, given, intOption, metricsPortOption, numberOption } from './common.ts';
import { runService } from './run-service.ts';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run everything in one process: stream, simulator, alert and archive consumers, HTTP API (what `npm start` runs)')
    .addOption(new Option('-p, --port <port>', 'HTTP port (env DRONEWATCH_PORT; default 8080)').argParser(intOption('--port')))
    .addOption(new Option('--host <host>', 'HTTP listen address (default 127.0.0.1)'))
    .addOption(new Option('--drones <n>', 'simulated drones (default 1000)').argParser(intOption('--drones', 1)))
    .addOption(new Option('--speed <x>', 'simulated seconds per real second (default 60)').argParser(numberOption('--speed')))
    .addOption(new Option('--seed <n>', 'simulator seed').argParser(intOption('--seed')))
    .option('--realtime', 'simulate in real time (one report per drone per real minute)')
    .option('--no-simulator', 'do not run the simulator (reports come from POST /v1/reports)')
    .addOption(metricsPortOption())
    .action(async (opts: { port?: number; host?: string; drones?: number; speed?: number; seed?: number; realtime?: boolean; simulator: boolean }, cmd: Command) => {
      const config = configFrom(cmd, given(opts, { port: 'http.port', host: 'http.host', drones: 'simulator.drones', speed: 'simulator.speed', seed: 'simulator.seed' }));
      // The live summary is `up`'s interface: routine info logs (partitions taken, ...) would bury it. Warnings still show.
      process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
      const run = await runService('up', config, {
        alerts: true,
        archive: 'thread',
        http: 'api',
        ...(opts.simulator ? { simulator: { mode: opts.realtime ? 'realtime' : 'accelerated' } } : {}),
      }, { banner: (p) => banner(p, opts.simulator) });
      await run.done;
    });
}

function banner(p: Platform, simulator: boolean): string {
  const c = p.config;
  const url = p.address ?? `http://${c.http.host}:${c.http.port}`;
  return [
    // Embedded only on the SQLite log: with nats:// or kafka:// the components share that deployment's stream and state.
    `dronewatch up: ${p.backend.kind === 'sqlite' ? 'embedded mode' : `every component in this process, on the ${p.backend.kind} backend`}, data in ${c.dataDir}, stream ${p.stream.name}`,
    !simulator ? '  simulator: off'
      : p.simulatorResumedFrom
        ? `  simulator: ${c.simulator.drones} drones carrying on after the newest report in the stream (${p.simulatorResumedFrom.toISOString()}) at ${c.simulator.speed}x, then live`
        : `  simulator: ${c.simulator.drones} drones replaying the last 24 h at ${c.simulator.speed}x (${Math.round((c.simulator.drones * c.simulator.speed) / 60)} reports/s), then live`,
    ...found(p),
    c.security.enabled
      ? `  API ${url}  live alerts: curl -N -H "authorization: Bearer <API token>" ${url}/v1/alerts/stream (docs/security.md)`
      : `  API ${url}  live alerts: curl -N ${url}/v1/alerts/stream (authentication OFF)`,
    ...(c.dashboard.enabled ? [`  dashboard ${url}/`] : []),
    '  Ctrl-C stops (buffered reports are flushed to the lake first)',
  ].join('\n');
}

/** What a restart found: the alerts still open, and that the administrator exists (its password was printed once). */
function found(p: Platform): string[] {
  const lines: string[] = [];
  const counts = p.alertState?.countByStatus();
  if (counts && !(counts instanceof Promise) && counts.open + counts.acknowledged + counts.resolved > 0) {
    lines.push(`  found: ${counts.open} open, ${counts.acknowledged} acknowledged and ${counts.resolved} resolved alerts from earlier runs`);
  }
  const admin = p.config.security.bootstrapAdmin;
  if (p.config.security.enabled && !p.adminCreatedNow && p.security?.findUser(admin)) {
    lines.push(`  administrator "${admin}" exists (its password was printed on the first start); to reset it: npx dronewatch users passwd ${admin}`);
  }
  return lines;
}
