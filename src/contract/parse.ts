import { isUtf8 } from 'node:buffer';
import { InvalidReportError, MalformedReportError, NestingTooDeepError, ReportTooLargeError } from '../errors/index.ts';
import { itemsTooDeep } from './depth.ts';
import { DEFAULT_MAX_REPORT_BYTES, MAX_NESTING_DEPTH } from './limits.ts';
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

function jsonParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new MalformedReportError(e instanceof Error ? e.message : String(e));
  }
}

function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * JSON.parse of one item (a report) with the platform's errors: NestingTooDeepError when it nests deeper than
 * MAX_NESTING_DEPTH (checked on the text first, so nothing recursive ever sees it), MalformedReportError when it is
 * not JSON.
 */
export function parseJsonText(text: string): unknown {
  const t = withoutBom(text);
  // Fewer characters than levels cannot be too deep: the common case skips the scan.
  if (t.length > MAX_NESTING_DEPTH) {
    const deep = itemsTooDeep(t, MAX_NESTING_DEPTH, false)[0];
    if (deep) throw new NestingTooDeepError(deep.field, MAX_NESTING_DEPTH);
  }
  return jsonParse(t);
}

/** A JSON array of items as parsed by parseJsonArray. */
export interface ParsedJsonArray {
  /** Every element in order; a refused one is `undefined` here. */
  items: unknown[];
  /** Elements nested deeper than MAX_NESTING_DEPTH, in order, with their exact text (they were not parsed). */
  refused: { index: number; error: NestingTooDeepError; text: string }[];
}

/**
 * Parses text that is a JSON array of items (an array body), each held to the nesting limit on its own: an element
 * too deep is cut out of the text unparsed (refused, with its exact text) and the others are parsed as usual. Text
 * that is not JSON (apart from the refused elements' insides) throws MalformedReportError, as a whole.
 */
export function parseJsonArray(text: string): ParsedJsonArray {
  const t = withoutBom(text);
  const deep = t.length > MAX_NESTING_DEPTH + 1 ? itemsTooDeep(t, MAX_NESTING_DEPTH, true) : [];
  if (deep.length === 0) return { items: jsonParse(t) as unknown[], refused: [] };
  // The refused elements become `0` in the text parsed, so the others keep their indexes.
  let holed = '';
  let at = 0;
  for (const d of deep) {
    holed += `${t.slice(at, d.start)}0`;
    at = d.end;
  }
  holed += t.slice(at);
  const parsed = jsonParse(holed);
  if (!Array.isArray(parsed)) throw new MalformedReportError('not a JSON array');
  const items = parsed as unknown[];
  for (const d of deep) items[d.index] = undefined;
  return { items, refused: deep.map((d) => ({ index: d.index, error: new NestingTooDeepError(d.field, MAX_NESTING_DEPTH), text: t.slice(d.start, d.end) })) };
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
