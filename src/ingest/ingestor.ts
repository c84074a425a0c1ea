import {
  DEFAULT_MAX_CLOCK_SKEW_MS, DEFAULT_MAX_REPORT_BYTES, decodeJsonBytes, parseJsonArray, parseJsonText, utf8LargerThan, validateReport,
  type Report, type ValidateOptions,
} from '../contract/index.ts';
import { DwError, InvalidReportError, ReportTooLargeError } from '../errors/index.ts';
import { TOPICS, type Stream } from '../stream/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { recordIngest } from '../metrics/record.ts';
import { IngestBatch, type IngestResult } from './batch.ts';
import { publishDeadLetters } from './dead-letters.ts';
import { asBuffer, isBlank, linesOf, startsWithArray } from './body.ts';
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface IngestorOptions {
  stream: Stream;
  /** Police force the reports belong to; written into every accepted report and dead letter. */
  tenant: string;
  /** Largest report in bytes. Default 64 KiB. */
  maxReportBytes?: number;
  /**
   * Largest body in bytes (a batch of reports). Default DEFAULT_MAX_BODY_BYTES (32 MiB), the HTTP request body limit:
   * the HTTP route stops reading a body one byte past it and hands over what it read, which this refuses.
   */
  maxBodyBytes?: number;
  /** How far in the future a timestamp may be. Default 5 minutes. */
  maxClockSkewMs?: number;
  /** Clock, epoch ms (tests inject one). Default Date.now. */
  now?: () => number;
  logger?: Logger;
}

export type BodyType = 'json' | 'ndjson';

/** Largest body accepted by default: the HTTP request body limit too (src/server/app.ts), so both are one number. */
export const DEFAULT_MAX_BODY_BYTES = 32 * 1024 * 1024;

/** Bytes of a body over maxBodyBytes kept in its dead letter: enough to see who sent what, not the whole of it. */
export const OVERSIZED_BODY_KEPT_BYTES = 64 * 1024;

/**
 * Reports validated per turn of the event loop (~1 ms of work): the ingestion of a big body gives the turn back
 * between slices, so the alert worker on the same thread, woken by another request's commit, is never behind a whole
 * body (a 5,000-report body is ~75 ms of synchronous work; a slice of a JSON array body still waits for the one
 * JSON.parse of the body).
 */
export const ITEMS_PER_TURN = 256;

/**
 * Who is publishing, from its credential (HTTP ingestion with authentication on, the MQTT bridge): the tenant its
 * reports belong to, and the one drone it may publish as (`*` or absent: any drone of the tenant, e.g. a gateway).
 * A report for another drone is rejected (`DW_AUTH_FORBIDDEN`) and dead-lettered like any invalid report.
 */
export interface IngestScope {
  tenant?: string;
  droneId?: string;
}

/**
 * Validates reports and publishes the valid ones to the `reports` topic, in one batch per call, keyed by droneId
 * (one drone's reports stay ordered in one partition) with the report id as de-duplication id (a retried report is
 * acknowledged as a duplicate, not stored twice). Every rejected item becomes a dead letter.
 */
export class Ingestor {
  private readonly stream: Stream;
  private readonly tenant: string;
  private readonly tenantJson: string;
  private readonly maxReportBytes: number;
  private readonly maxBodyBytes: number;
  private readonly maxClockSkewMs: number;
  private readonly now: () => number;
  private readonly logger: Logger;

  constructor(opts: IngestorOptions) {
    if (typeof opts.tenant !== 'string' || opts.tenant === '') throw new TypeError('Ingestor: tenant must be a non-empty string');
    this.stream = opts.stream;
    this.tenant = opts.tenant;
    this.tenantJson = JSON.stringify(opts.tenant);
    this.maxReportBytes = opts.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES;
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.maxClockSkewMs = opts.maxClockSkewMs ?? DEFAULT_MAX_CLOCK_SKEW_MS;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
  }

  /**
   * Ingests a request body: `json` is one report or an array of reports; `ndjson` is one report per line (blank
   * lines ignored). Each report is checked on its own; the result lists every item by its position in the body.
   * A body that cannot be taken apart into items is rejected whole (one dead letter, index 0): over maxBodyBytes
   * (its first OVERSIZED_BODY_KEPT_BYTES kept), empty or blank (no report in it), or not JSON.
   */
  async ingestRaw(body: Uint8Array | string, contentType: BodyType, source: string, scope: IngestScope = {}): Promise<IngestResult> {
    const batch = this.newBatch(source, scope);
    const opts = this.validateOptions(batch);
    const bytes = asBuffer(body);
    if (contentType !== 'ndjson' && contentType !== 'json') throw new TypeError(`Ingestor: unsupported body type ${String(contentType)}`);
    if (bytes.length > this.maxBodyBytes) {
      const error = new DwError('DW_INGEST_TOO_LARGE', `body is over ${this.maxBodyBytes} bytes, the limit of a request body; nothing of it was stored (its first ${OVERSIZED_BODY_KEPT_BYTES} bytes are in the dead letters)`, {
        status: 413, details: [{ field: '', reason: `a body must be at most ${this.maxBodyBytes} bytes` }],
      });
      batch.reject(0, error, bytes.subarray(0, OVERSIZED_BODY_KEPT_BYTES), { rawBytes: bytes.length });
    } else if (isBlank(bytes)) {
      batch.reject(0, new DwError('DW_INGEST_MALFORMED', 'empty body: it holds no report', { status: 400, details: [{ field: '', reason: 'empty body: it holds no report' }] }), bytes);
    } else if (contentType === 'ndjson') {
      let sinceYield = 0;
      for (const [line, n] of linesOf(bytes)) {
        if (!isBlank(line)) this.ingestText(batch, opts, n, line);
        if (++sinceYield === ITEMS_PER_TURN) { sinceYield = 0; await nextTurn(); }
      }
    } else if (startsWithArray(bytes)) {
      await this.ingestArray(batch, opts, bytes);
    } else {
      this.ingestText(batch, opts, 0, bytes);
    }
    return this.commit(batch);
  }

  /** Ingests reports built in-process (the simulator): validated like any other, same result shape. */
  async ingestReports(reports: readonly Report[], source: string): Promise<IngestResult> {
    const batch = this.newBatch(source);
    const opts = this.validateOptions(batch);
    for (let i = 0; i < reports.length; i++) {
      if (i > 0 && i % ITEMS_PER_TURN === 0) await nextTurn();
      const report: unknown = reports[i];
      let json: string | undefined;
      try {
        json = JSON.stringify(report);
      } catch {
        json = undefined; // cycles, BigInt: not a report; the validator says why
      }
      this.ingestValue(batch, opts, i, report, json ?? '');
    }
    return this.commit(batch);
  }

  private newBatch(source: string, scope: IngestScope = {}): IngestBatch {
    const tenant = scope.tenant ?? this.tenant;
    const onlyDrone = scope.droneId === undefined || scope.droneId === '*' ? undefined : scope.droneId;
    return new IngestBatch(this.now(), source, tenant, tenant === this.tenant ? this.tenantJson : JSON.stringify(tenant), onlyDrone);
  }

  private validateOptions(batch: IngestBatch): ValidateOptions {
    return { now: batch.receivedAt, maxClockSkewMs: this.maxClockSkewMs };
  }

  /** A valid report is accepted unless the credential may not publish for its drone. */
  private acceptValid(batch: IngestBatch, index: number, report: Report, ts: number, json: string, raw: Uint8Array | string): void {
    if (batch.onlyDrone !== undefined && report.droneId !== batch.onlyDrone) {
      return batch.reject(index, new DwError('DW_AUTH_FORBIDDEN', `droneId: this credential publishes as drone "${batch.onlyDrone}" only`, {
        status: 403, details: [{ field: 'droneId', reason: `this credential publishes as drone "${batch.onlyDrone}" only` }],
      }), raw);
    }
    batch.accept(index, report, ts, json);
  }

  /** One report as bytes (a whole body or an NDJSON line): size, UTF-8 and JSON, then validation. */
  private ingestText(batch: IngestBatch, opts: ValidateOptions, index: number, raw: Buffer): void {
    if (raw.length > this.maxReportBytes) return batch.reject(index, new ReportTooLargeError(raw.length, this.maxReportBytes), raw);
    let value: unknown;
    try {
      value = parseJsonText(decodeJsonBytes(raw));
    } catch (e) {
      if (e instanceof DwError) return batch.reject(index, e, raw);
      throw e;
    }
    const result = validateReport(value, opts);
    if (!result.ok) return batch.reject(index, new InvalidReportError(result.errors), raw);
    this.acceptValid(batch, index, result.report, result.ts, JSON.stringify(result.report), raw);
  }

  /**
   * A JSON array body: parsed whole (malformed = one dead letter with the whole body), then element by element. An
   * element nested too deep is refused unparsed, its exact text kept as its dead letter; the others go on as usual.
   */
  private async ingestArray(batch: IngestBatch, opts: ValidateOptions, raw: Buffer): Promise<void> {
    let parsed;
    try {
      parsed = parseJsonArray(decodeJsonBytes(raw));
    } catch (e) {
      if (e instanceof DwError) return batch.reject(0, e, raw);
      throw e;
    }
    const { items, refused } = parsed;
    let next = 0;
    for (let i = 0; i < items.length; i++) {
      if (i > 0 && i % ITEMS_PER_TURN === 0) await nextTurn();
      if (refused[next]?.index === i) {
        const r = refused[next++]!;
        batch.reject(i, r.error, r.text);
        continue;
      }
      const item = items[i];
      this.ingestValue(batch, opts, i, item, JSON.stringify(item));
    }
  }

  /** One already-parsed report and its compact JSON (what is published, and the raw bytes if it is rejected). */
  private ingestValue(batch: IngestBatch, opts: ValidateOptions, index: number, value: unknown, json: string): void {
    if (utf8LargerThan(json, this.maxReportBytes)) {
      return batch.reject(index, new ReportTooLargeError(Buffer.byteLength(json, 'utf8'), this.maxReportBytes), json);
    }
    const result = validateReport(value, opts);
    if (!result.ok) return batch.reject(index, new InvalidReportError(result.errors), json);
    this.acceptValid(batch, index, result.report, result.ts, json, json);
  }

  /**
   * Publishes the valid reports (one batch) and the dead letters (one batch) together: the embedded stream commits
   * publishes of the same event-loop turn in one transaction. Any failure propagates to the caller, who retries;
   * retried reports are then acknowledged as duplicates.
   */
  private async commit(batch: IngestBatch): Promise<IngestResult> {
    const [acks] = await Promise.all([
      batch.records.length > 0 ? this.stream.publish(TOPICS.reports, batch.records) : Promise.resolve([]),
      publishDeadLetters(this.stream, batch.letters),
    ]);
    const accepted: IngestResult['accepted'] = new Array(batch.records.length);
    for (let i = 0; i < batch.records.length; i++) {
      accepted[i] = { reportId: batch.reportIds[i]!, duplicate: acks[i]?.duplicate ?? false, index: batch.indexes[i]! };
    }
    recordIngest(batch.tenant, batch.source, accepted, batch.rejected);
    if (batch.rejected.length > 0) {
      const first = batch.letters[0]!;
      // The code, not the reason: a reason names fields, and an unknown field's name is whatever the sender wrote.
      this.logger.warn({ source: batch.source, accepted: accepted.length, rejected: batch.rejected.length, firstCode: first.code }, 'reports rejected');
    } else {
      this.logger.debug({ source: batch.source, accepted: accepted.length }, 'reports ingested');
    }
    return { accepted, rejected: batch.rejected };
  }
}
