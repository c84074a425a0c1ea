import { isUtf8 } from 'node:buffer';
import { InvalidReportError, MalformedReportError, ReportTooLargeError } from '../errors/index.ts';
import { DEFAULT_MAX_REPORT_BYTES } from './limits.ts';
import { reportIdOf } from './report-id.ts';
import type { Report } from './types.ts';
import { validateReport, type ValidateOptions } from './validate.ts';

export interface ParseOptions extends ValidateOptions {
  /** Largest accepted report in bytes. Default 64 KiB. */
  maxReportBytes?: number;
}

export interface ParsedReport {
  report: Report;
  /** Epoch ms of the report's timestamp. */
  ts: number;
  reportId: string;
}

/** True when the UTF-8 encoding of `s` is larger than `limit` bytes. */
export function utf8LargerThan(s: string, limit: number): boolean {
  return s.length * 3 > limit && Buffer.byteLength(s, 'utf8') > limit;
}

/**
 * Decodes JSON text bytes. Invalid UTF-8 is refused rather than replaced with U+FFFD, which would silently alter
 * names; a leading byte order mark is ignored (RFC 8259 §8.1 allows parsers to).
 */
export function decodeJsonBytes(bytes: Uint8Array): string {
  if (!isUtf8(bytes)) throw new MalformedReportError('invalid UTF-8');
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const start = buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  return buf.toString('utf8', start);
}

/** JSON.parse with the platform's error. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as unknown;
  } catch (e) {
    throw new MalformedReportError(e instanceof Error ? e.message : String(e));
  }
}

/**
 * Parses one report as received: size check (ReportTooLargeError), UTF-8 and JSON (MalformedReportError),
 * validation (InvalidReportError with every field error).
 */
export function parseReport(raw: Uint8Array | string, opts: ParseOptions = {}): ParsedReport {
  const max = opts.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
  let text: string;
  if (typeof raw === 'string') {
    if (utf8LargerThan(raw, max)) throw new ReportTooLargeError(Buffer.byteLength(raw, 'utf8'), max);
    text = raw;
  } else {
    if (raw.byteLength > max) throw new ReportTooLargeError(raw.byteLength, max);
    text = decodeJsonBytes(raw);
  }
  const result = validateReport(parseJsonText(text), opts);
  if (!result.ok) throw new InvalidReportError(result.errors);
  return { report: result.report, ts: result.ts, reportId: reportIdOf(result.report.droneId, result.ts) };
}
