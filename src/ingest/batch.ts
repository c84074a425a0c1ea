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
    const head = Buffer.byteLength(json, 'utf8') - 1;
    const value = Buffer.allocUnsafe(head + Buffer.byteLength(rest, 'utf8'));
    value.write(json, 0, 'utf8');
    value.write(rest, head, 'utf8');
    this.records.push({ key: report.droneId, value, id: this.idPrefix + reportId });
    this.indexes.push(index);
    this.reportIds.push(reportId);
  }

  /** `cut`: `raw` is only the beginning of the item (a body over the body limit), which was `rawBytes` long as received. */
  reject(index: number, error: DwError, raw: Uint8Array | string, cut?: { rawBytes: number }): void {
    const errors = error.details ?? [];
    this.rejected.push({ index, code: error.code, errors });
    this.letters.push(deadLetterOf(error, raw, { receivedAt: this.receivedAt, source: this.source, tenant: this.tenant, index }, cut));
  }
}
