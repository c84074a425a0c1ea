import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs on stderr (stdout is for command output). Level from DRONEWATCH_LOG_LEVEL, default info. */
export function createLogger(name: string, level = process.env.DRONEWATCH_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name, level }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything: for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
