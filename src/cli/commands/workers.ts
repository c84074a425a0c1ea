import { Option, type Command } from 'commander';
import { configFrom, given, intOption, metricsPortOption } from './common.ts';
import { runService } from './run-service.ts';

/** `archive`, `serve` and `ingest`: one component each, in its own process, sharing the stream. */
export function registerWorkers(program: Command): void {
  program
    .command('archive')
    .description('run the archive consumer: reports and alert events from the stream to the Parquet lake')
    .addOption(metricsPortOption())
    .action(async (_opts: object, cmd: Command) => {
      const run = await runService('archive', configFrom(cmd), { archive: true }, { banner: () => 'archive consumer running; Ctrl-C flushes and stops' });
      await run.done;
    });

  for (const [name, kind, what] of [
    ['serve', 'api', 'run the HTTP API: report ingestion, alerts, live alert feed, dead letters'],
    ['ingest', 'ingest', 'run HTTP report ingestion only (POST /v1/reports)'],
  ] as const) {
    const command = program
      .command(name)
      .description(what)
      .addOption(new Option('-p, --port <port>', 'HTTP port (default 8080)').argParser(intOption('--port')))
      .addOption(new Option('--host <host>', 'listen address (default 127.0.0.1)'))
      .addOption(metricsPortOption());
    if (kind === 'ingest') command.option('--mqtt', 'also take reports drones publish over MQTT (nats:// stream only; config ingest.mqtt)');
    command
      .action(async (opts: { port?: number; host?: string; mqtt?: boolean }, cmd: Command) => {
        const config = configFrom(cmd, given(opts, { port: 'http.port', host: 'http.host', mqtt: 'ingest.mqtt' }));
        const run = await runService(name, config, { http: kind }, {
          banner: (p) => `${name}: listening on ${p.address}${p.mqttBridge ? '\nmqtt: taking drone reports published to drones/<droneId>/reports (JetStream stream DRONES_INBOX)' : ''}`,
        });
        await run.done;
      });
  }
}
