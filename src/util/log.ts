import { hostname } from 'node:os';
import pino, { type DestinationStream, type Logger } from 'pino';
import { ConfigError } from '../errors/index.ts';
import { prettyDestination } from './log-pretty.ts';

export type { Logger };

/** `json`: one JSON object a line (files, journald, log shippers). `pretty`: one readable line (a person at a terminal). */
export type LogFormat = 'json' | 'pretty';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/**
 * The log format from DRONEWATCH_LOG_FORMAT: `auto` (default) is `pretty` when stderr is a terminal and `json`
 * otherwise, so what a service manager or a container runtime collects is always JSON.
 */
export function logFormat(env: NodeJS.ProcessEnv = process.env, isTTY = process.stderr.isTTY === true): LogFormat {
  const v = env.DRONEWATCH_LOG_FORMAT ?? 'auto';
  if (v === 'auto') return isTTY ? 'pretty' : 'json';
  if (v === 'json' || v === 'pretty') return v;
  throw new ConfigError(`DRONEWATCH_LOG_FORMAT: must be auto, json or pretty, got "${v}"`, [{ field: 'DRONEWATCH_LOG_FORMAT', reason: 'must be auto, json or pretty' }]);
}

function checkLevel(level: string): string {
  if ((LEVELS as readonly string[]).includes(level)) return level;
  throw new ConfigError(`DRONEWATCH_LOG_LEVEL: must be one of ${LEVELS.join(', ')}, got "${level}"`, [{ field: 'DRONEWATCH_LOG_LEVEL', reason: `must be one of ${LEVELS.join(', ')}` }]);
}

/**
 * Logs on stderr (stdout is for command output), each line with its `component` (`serve`, `alerts`, `archive`...);
 * request lines add `reqId` and `tenant` (src/server/request-log.ts). Level from DRONEWATCH_LOG_LEVEL, default info.
 * What goes in a log line never includes personal data: no citizen names, no report bodies, no SQL or its results
 * (docs/operations.md, "Logs").
 */
export function createLogger(component: string, level = process.env.DRONEWATCH_LOG_LEVEL ?? 'info', opts: { format?: LogFormat; destination?: DestinationStream } = {}): Logger {
  const format = opts.format ?? logFormat();
  const destination = opts.destination
    ?? (format === 'pretty' ? prettyDestination(process.stderr) : pino.destination({ fd: 2, sync: false }));
  return pino({ level: checkLevel(level), base: { component, pid: process.pid, hostname: hostname() } }, destination);
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
