import { reportIdOf, type Report } from '../contract/index.ts';
import type { DwError, FieldError } from '../errors/index.ts';
import type { OutgoingRecord } from '../stream/index.ts';
import { deadLetterOf, type DeadLetter } from './dead-letters.ts';

export interface RejectedItem {
  /** Position in the input (array element, NDJSON line number from 0, 0 for a single report). */
  index: number;
  code: string;
  errors: FieldError[];
}

/** The outcome of one body or one call: accepted and rejected items, each in input order. */
export interface IngestResult {
  accepted: { reportId: string; duplicate: boolean; index: number }[];
  rejected: RejectedItem[];
}

/**
 * Accepted records' bytes are written into chunks, each record a view on its chunk: Node's 8 KiB pool behind
 * Buffer.allocUnsafe made a new ArrayBuffer every ~16 reports, ~2 us a report on the ingesting thread (CPU profile of
 * the ingest stage). A batch's chunks double from the first size to the largest, so a one-report request takes 4 KiB
 * and a 5,000-report body ~40 chunks. They live as long as the batch's records: until the stream has copied them into
 * its stored batch.
 */
export const FIRST_RECORD_CHUNK_BYTES = 4 * 1024;
export const MAX_RECORD_CHUNK_BYTES = 64 * 1024;

/** What one ingestion call collects before publishing: the valid reports as records, the rest as dead letters. */
export class IngestBatch {
  readonly records: OutgoingRecord[] = [];
  readonly indexes: number[] = [];
  /** Report ids of `records`, in order (a record's de-duplication id also names the tenant). */
  readonly reportIds: string[] = [];
  readonly rejected: RejectedItem[] = [];
  readonly letters: DeadLetter[] = [];
  /** End of every AcceptedReport JSON of this batch: the fields that do not depend on the report. */
  private readonly suffix: string;
  /** `<tenant>/`: report ids are unique per tenant only (two forces may both have a `drone-001`). */
  private readonly idPrefix: string;
  /** Where the next record's bytes go: `chunk` from `used` on. */
  private chunk: Buffer = Buffer.alloc(0);
  private used = 0;

  /** `onlyDrone`: the one drone the publisher's credential may publish as (undefined: any). */
  constructor(readonly receivedAt: number, readonly source: string, readonly tenant: string, tenantJson: string, readonly onlyDrone?: string) {
    this.suffix = `,"receivedAt":${receivedAt},"tenant":${tenantJson}}`;
    this.idPrefix = `${tenant}/`;
  }

  /**
   * `json` is JSON.stringify(report). The AcceptedReport value is spliced from it rather than built as a new object
   * and serialised again: this runs for every report (up to 100k/s from the simulator). The report id needs no
   * escaping: droneId is [A-Za-z0-9._-] and the time is an integer.
   */
  accept(index: number, report: Report, ts: number, json: string): void {
    const reportId = reportIdOf(report.droneId, ts);
    // Written into the record's bytes piece by piece: one string of the whole value would be concatenated, then
    // flattened by the encoder (~1 KB of garbage per report on the ingesting thread, whose collections the alert path
    // waits behind). The report's closing brace is overwritten by the rest.
    const rest = `,"reportId":"${reportId}","ts":${ts}${this.suffix}`;
    // At most 3 UTF-8 bytes a UTF-16 unit: room for that is made first, then the exact length is what write() returns.
    const start = this.room(3 * (json.length + rest.length));
    const head = start + this.chunk.write(json, start, 'utf8') - 1;
    const end = head + this.chunk.write(rest, head, 'utf8');
    const value = this.chunk.subarray(start, end);
    this.used = end;
    this.records.push({ key: report.droneId, value, id: this.idPrefix + reportId });
    this.indexes.push(index);
    this.reportIds.push(reportId);
  }

  /** The offset in `chunk` where `bytes` fit, in a new chunk if the current one is too full. */
  private room(bytes: number): number {
    if (this.used + bytes > this.chunk.length) {
      const size = this.chunk.length === 0 ? FIRST_RECORD_CHUNK_BYTES : Math.min(2 * this.chunk.length, MAX_RECORD_CHUNK_BYTES);
      this.chunk = Buffer.allocUnsafeSlow(Math.max(size, bytes));
      this.used = 0;
    }
    return this.used;
  }

  /** `cut`: `raw` is only the beginning of the item (a body over the body limit), which was `rawBytes` long as received. */
  reject(index: number, error: DwError, raw: Uint8Array | string, cut?: { rawBytes: number }): void {
    const errors = error.details ?? [];
    this.rejected.push({ index, code: error.code, errors });
    this.letters.push(deadLetterOf(error, raw, { receivedAt: this.receivedAt, source: this.source, tenant: this.tenant, index }, cut));
  }
}
