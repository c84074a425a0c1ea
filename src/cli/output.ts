import { isDwError } from '../errors/index.ts';

/** Prints an error the way the CLI always does: one clear line (plus field errors), never a stack trace unless DRONEWATCH_DEBUG=1. */
export function printError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (process.env.DRONEWATCH_DEBUG === '1' && err instanceof Error) stderr.write(`${err.stack}\n`);
  if (isDwError(err)) {
    stderr.write(`error: ${err.message} [${err.code}]\n`);
    return 2;
  }
  const e = err as { code?: string; message?: string };
  if (e && typeof e.code === 'string' && e.code.startsWith('commander.')) return 2;
  stderr.write(`error: ${e?.message ?? String(err)}\n`);
  return 1;
}
