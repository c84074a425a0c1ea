import { Command, CommanderError, Option } from 'commander';
import { printError } from './output.ts';
import { registerCommands } from './commands/index.ts';

/** Builds the `dronewatch` program. Exported for tests, which run it in-process with `exitOverride`. */
export function buildProgram(): Command {
  const program = new Command('dronewatch')
    .description('Drone-fleet telemetry: ingest reports, raise alerts within milliseconds, keep everything in a Parquet lake.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .addOption(new Option('-c, --config <file>', 'JSON config file (default ./dronewatch.config.json if present)'))
    .addOption(new Option('-d, --data <dir>', 'data directory (env DRONEWATCH_DATA; default ./data)'))
    .addOption(new Option('--stream <url>', 'stream: "sqlite" (embedded, default), sqlite:/path/stream.db, or NATS JetStream nats://host:port[,host:port...] (env DRONEWATCH_STREAM)'))
    .addOption(new Option('--lake <location>', 'lake location: a directory or s3://bucket/prefix (env DRONEWATCH_LAKE; S3_ENDPOINT for non-AWS S3; default <data>/lake)'));
  registerCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode;
      return;
    }
    process.exitCode = printError(err);
  }
}
