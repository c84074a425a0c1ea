import { DwError } from '../errors/index.ts';

/**
 * An operation the store could not do. The message names the store (its safe location), the operation, the key and,
 * for S3, the error code and HTTP status: never credentials. S3 SDK errors are not attached as `cause` (they carry
 * the raw HTTP response); file-system errors are.
 */
export class ObjectStoreError extends DwError {
  readonly op: string;
  readonly key: string | undefined;
  /** HTTP status of an S3 answer, when there was one. */
  readonly httpStatus: number | undefined;
  /** S3 error code (`NoSuchBucket`, `AccessDenied`...) or system error code (`ENOSPC`, `ECONNREFUSED`...). */
  readonly reason: string | undefined;
  constructor(message: string, info: { op: string; key?: string; httpStatus?: number; reason?: string; cause?: unknown }) {
    super('DW_OBJECTSTORE_FAILED', message, { status: 500, cause: info.cause });
    this.op = info.op;
    this.key = info.key;
    this.httpStatus = info.httpStatus;
    this.reason = info.reason;
  }
}

/** A malformed key, prefix, range or option: a bug of the caller, not a failure of the store. */
export class ObjectStoreRequestError extends DwError {
  constructor(message: string) {
    super('DW_OBJECTSTORE_REQUEST_INVALID', message, { status: 500 });
  }
}

/** A lake location (`--lake`, `DRONEWATCH_LAKE`) or S3 endpoint that cannot be used. */
export class LakeLocationError extends DwError {
  constructor(message: string) {
    super('DW_LAKE_LOCATION_INVALID', message, { status: 500 });
  }
}
