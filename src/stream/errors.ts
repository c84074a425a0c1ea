import { DwError } from '../errors/index.ts';

/** A consumer committed or sought a partition it does not own (any more): another member took it (fencing). */
export class StreamNotOwnerError extends DwError {
  readonly partitions: number[];
  constructor(topic: string, group: string, partitions: number[]) {
    super('DW_STREAM_NOT_OWNER', `consumer of group "${group}" no longer owns partition(s) ${partitions.join(', ')} of topic "${topic}"`, { status: 409 });
    this.partitions = partitions;
  }
}

/** The NATS servers could not be reached, or JetStream kept failing transiently (failover, timeouts) past the retry budget. */
export class StreamUnavailableError extends DwError {
  constructor(what: string, cause: unknown) {
    const reason = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super('DW_STREAM_UNAVAILABLE', `NATS JetStream unavailable: ${what} failed: ${reason}`, { status: 503, cause });
  }
}
