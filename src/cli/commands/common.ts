import { Option, type Command } from 'commander';
import { loadConfig, type Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { createLogger, type Logger } from '../../util/log.ts';

/** Global options (on the program) merged with the command's own flags into config keys. */
/** `--tenant`: whose data a host command reads or changes (default `tenant` of the configuration, DRONEWATCH_TENANT). */
export const tenantOption = (): Option => new Option('--tenant <tenant>', 'the tenant (police force) whose data to read or change (default: the configuration\'s tenant, DRONEWATCH_TENANT)');

/** The configuration of a command, with `--tenant` (given to it or to its parent command) applied. */
export function configWithTenant(cmd: Command): Config {
  const tenant = cmd.optsWithGlobals<{ tenant?: string }>().tenant;
  return configFrom(cmd, tenant !== undefined ? { tenant } : {});
}

/** `--metrics-port` of the long-running commands (config metrics.port): GET /metrics on its own port, no authentication. */
export const metricsPortOption = (): Option => new Option('--metrics-port <port>', 'serve GET /metrics on this port (127.0.0.1; metrics.host to change; 0 = any free port)').argParser(intOption('--metrics-port'));

export function configFrom(cmd: Command, flags: Record<string, unknown> = {}): Config {
  const g = cmd.optsWithGlobals<{ config?: string; data?: string; stream?: string; lake?: string; metricsPort?: number }>();
  return loadConfig({
    ...(g.config ? { file: g.config } : {}),
    flags: {
      ...(g.data !== undefined ? { dataDir: g.data } : {}),
      ...(g.stream !== undefined ? { 'stream.url': g.stream } : {}),
      ...(g.lake !== undefined ? { 'lake.path': g.lake } : {}),
      ...(g.metricsPort !== undefined ? { 'metrics.port': g.metricsPort } : {}),
      ...flags,
    },
  });
}

export function logger(name: string): Logger {
  return createLogger(name);
}

/** Parses a numeric CLI option, with a clear message naming it. */
export function intOption(name: string, min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new DwError('DW_CONFIG_INVALID', `${name}: must be an integer >= ${min}, got "${value}"`, { status: 400 });
    return n;
  };
}

export function numberOption(name: string): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new DwError('DW_CONFIG_INVALID', `${name}: must be a positive number, got "${value}"`, { status: 400 });
    return n;
  };
}

export function dateOption(name: string): (value: string) => Date {
  return (value: string) => {
    const d = new Date(value);
    if (Number.isNaN(d.getTime())) throw new DwError('DW_CONFIG_INVALID', `${name}: not a date, got "${value}" (use e.g. 2026-11-01 or 2026-11-01T00:00:00Z)`, { status: 400 });
    return d;
  };
}

/** Resolves on the first SIGINT/SIGTERM: long-running commands then stop cleanly (flush, commit, close). */
export function untilSignal(): { received: Promise<NodeJS.Signals>; dispose: () => void } {
  let on: (sig: NodeJS.Signals) => void = () => {};
  const dispose = (): void => {
    process.off('SIGINT', on);
    process.off('SIGTERM', on);
  };
  const received = new Promise<NodeJS.Signals>((resolve) => {
    on = (sig) => {
      dispose();
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return { received, dispose };
}

/** Options with a value the user gave explicitly, so config-file values are not overridden by commander defaults. */
export function given<T extends object>(opts: T, map: Partial<Record<keyof T, string>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, key] of Object.entries(map) as [keyof T, string][]) {
    if (opts[k] !== undefined) out[key] = opts[k];
  }
  return out;
}
