/**
 * Errors as classes with stable codes. Every code is documented in docs/errors.md;
 * callers (HTTP, CLI) map them to status codes and messages without parsing text.
 */
export type ErrorCode =
  | 'DW_CONFIG_INVALID'
  | 'DW_INGEST_INVALID'
  | 'DW_INGEST_TOO_LARGE'
  | 'DW_INGEST_MALFORMED'
  | 'DW_INGEST_TOO_DEEP'
  | 'DW_INGEST_BACKPRESSURE'
  | 'DW_INGEST_RATE_LIMITED'
  | 'DW_STORAGE_FULL'
  | 'DW_STREAM_CLOSED'
  | 'DW_STREAM_TOPIC_UNKNOWN'
  | 'DW_STREAM_NOT_OWNER'
  | 'DW_STREAM_UNAVAILABLE'
  | 'DW_ALERT_NOT_FOUND'
  | 'DW_ALERT_BAD_TRANSITION'
  | 'DW_INCIDENT_NOT_FOUND'
  | 'DW_INCIDENT_BAD_TRANSITION'
  | 'DW_RULES_INVALID'
  | 'DW_RULES_CONFLICT'
  | 'DW_RULE_NOT_FOUND'
  | 'DW_SILENCE_NOT_FOUND'
  | 'DW_NOTIFY_INVALID'
  | 'DW_NOTIFY_CONFLICT'
  | 'DW_LAKE_WRITE_FAILED'
  | 'DW_LAKE_LOCATION_INVALID'
  | 'DW_LAKE_CACHE_TOO_SMALL'
  | 'DW_OBJECTSTORE_FAILED'
  | 'DW_OBJECTSTORE_REQUEST_INVALID'
  | 'DW_QUERY_FAILED'
  | 'DW_QUERY_TIMEOUT'
  | 'DW_QUERY_CANCELLED'
  | 'DW_QUERY_TOO_LARGE'
  | 'DW_QUERY_TOO_MANY'
  | 'DW_QUERY_ENGINE_RESTARTED'
  | 'DW_SAVED_QUERY_NOT_FOUND'
  | 'DW_SAVED_QUERY_EXISTS'
  | 'DW_NOT_FOUND'
  | 'DW_CONFLICT'
  | 'DW_AUTH_REQUIRED'
  | 'DW_AUTH_FORBIDDEN'
  | 'DW_AUTH_RATE_LIMITED'
  | 'DW_AUTH_CSRF'
  | 'DW_AUDIT_CHAIN_BROKEN'
  | 'DW_AUDIT_LAKE_MISMATCH'
  | 'DW_REQUEST_INVALID'
  | 'DW_INTERNAL'
  | 'DW_SIMULATOR_SINK_FAILED';

export interface FieldError {
  /** Path in the document, e.g. `citizens[0].score`; empty string for the whole document. */
  field: string;
  /** Human reason, e.g. `must be <= 100`. */
  reason: string;
}

export class DwError extends Error {
  readonly code: ErrorCode;
  /** HTTP status the API answers with. */
  readonly status: number;
  readonly details: FieldError[] | undefined;
  constructor(code: ErrorCode, message: string, opts: { status?: number; details?: FieldError[]; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = opts.status ?? 500;
    this.details = opts.details;
  }
  toJSON(): { code: ErrorCode; message: string; errors?: FieldError[] } {
    return this.details ? { code: this.code, message: this.message, errors: this.details } : { code: this.code, message: this.message };
  }
}

export class ConfigError extends DwError {
  constructor(message: string, details?: FieldError[]) {
    super('DW_CONFIG_INVALID', message, { status: 500, details });
  }
}

export class InvalidReportError extends DwError {
  constructor(details: FieldError[]) {
    super('DW_INGEST_INVALID', details.map((d) => (d.field ? `${d.field}: ${d.reason}` : d.reason)).join('; '), { status: 400, details });
  }
}

export class ReportTooLargeError extends DwError {
  constructor(size: number, max: number) {
    super('DW_INGEST_TOO_LARGE', `report is ${size} bytes; the limit is ${max} bytes`, { status: 413, details: [{ field: '', reason: `must be at most ${max} bytes` }] });
  }
}

export class MalformedReportError extends DwError {
  constructor(reason: string) {
    super('DW_INGEST_MALFORMED', `not valid JSON: ${reason}`, { status: 400, details: [{ field: '', reason: `not valid JSON: ${reason}` }] });
  }
}

/** JSON nested deeper than the report format allows (`field`: where, from the report; empty: the report itself). */
export class NestingTooDeepError extends DwError {
  constructor(field: string, max: number) {
    const reason = `nests arrays and objects more than ${max} levels deep`;
    super('DW_INGEST_TOO_DEEP', field ? `${field}: ${reason}` : reason, { status: 400, details: [{ field, reason }] });
  }
}

export class BackpressureError extends DwError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('DW_INGEST_BACKPRESSURE', message, { status: 503 });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The disk where reports are stored is full (or under the free space kept): nothing of the request was stored. */
export class StorageFullError extends DwError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number, cause?: unknown) {
    super('DW_STORAGE_FULL', message, { status: 503, ...(cause === undefined ? {} : { cause }) });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** One drone sent more than its ingestion limit allows (`ingest.perDroneRequestsPerSecond` / `perDroneBurst`). */
export class IngestRateLimitedError extends DwError {
  readonly retryAfterSeconds: number;
  constructor(droneId: string, retryAfterSeconds: number) {
    super('DW_INGEST_RATE_LIMITED', `drone "${droneId}" sends faster than its limit; retry after ${retryAfterSeconds} s (nothing of this request was stored)`, { status: 429 });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class StreamClosedError extends DwError {
  constructor() {
    super('DW_STREAM_CLOSED', 'the stream is closed', { status: 503 });
  }
}

export class UnknownTopicError extends DwError {
  constructor(topic: string) {
    super('DW_STREAM_TOPIC_UNKNOWN', `unknown topic "${topic}": create it with ensureTopic() first`, { status: 500 });
  }
}

export class NotFoundError extends DwError {
  constructor(what: string, code: ErrorCode = 'DW_NOT_FOUND') {
    super(code, `${what} not found`, { status: 404 });
  }
}

export function isDwError(e: unknown): e is DwError {
  return e instanceof DwError;
}
