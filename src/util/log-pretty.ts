import type { DestinationStream } from 'pino';

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' };
const COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in their own place (or not at all) rather than as key=value. */
const SHOWN_APART = new Set(['level', 'time', 'msg', 'component', 'pid', 'hostname', 'err']);

/** A value as a person reads it: bare when it is a simple word or number, else JSON (quotes and escapes control characters). */
function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  if (typeof v === 'string' && /^[\w.:/@+-]{1,200}$/.test(v)) return v;
  return JSON.stringify(v) ?? String(v);
}

/**
 * One pino JSON line as one readable line: `12:00:01.234 INFO  serve  request  reqId=... method=GET status=200`, the
 * error's stack on the lines after it. Anything that is not a pino line is passed through as it is.
 */
export function formatLogLine(line: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = typeof o.level === 'number' ? o.level : 30;
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '';
  const name = LEVEL_NAMES[level] ?? String(level);
  const fields = Object.entries(o).filter(([k]) => !SHOWN_APART.has(k)).map(([k, v]) => `${k}=${show(v)}`);
  const head = `${time} ${colour ? `\x1b[${COLOURS[level] ?? '0'}m${name}\x1b[0m` : name} ${typeof o.component === 'string' ? `${o.component}  ` : ''}`;
  // The message is the program's own text, but control characters are escaped anyway: a line stays one line.
  const msg = String(o.msg ?? '').replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  let out = `${head}${msg}${fields.length > 0 ? `  ${fields.join(' ')}` : ''}\n`;
  const err = o.err as { type?: string; message?: string; stack?: string } | undefined;
  if (err && typeof err === 'object') out += `    ${(err.stack ?? `${err.type ?? 'Error'}: ${err.message ?? ''}`).split('\n').join('\n    ')}\n`;
  return out;
}

/** A pino destination writing formatted lines to a terminal (synchronously: a terminal is read as it is written). */
export function prettyDestination(out: NodeJS.WriteStream): DestinationStream {
  const colour = out.isTTY === true && process.env.NO_COLOR === undefined;
  return {
    write(line: string): void {
      out.write(formatLogLine(line, colour));
    },
  };
}
