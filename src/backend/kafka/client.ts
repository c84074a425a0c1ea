/**
 * Glue to @platformatic/kafka. Its promise API builds promises with Promise.withResolvers, which Node 20 does not
 * have (the package targets Node >= 22), so every call goes through its callback form, wrapped here.
 */
import { findErrorBy, type GenericError } from '@platformatic/kafka';
import { DwError } from '../../errors/index.ts';

type Callback<T> = (error: Error | null, value?: T) => void;

/** Runs a callback-style client method as a promise. */
export function call<T>(fn: (cb: Callback<T>) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      fn((error, value) => (error ? reject(error) : resolve(value as T)));
    } catch (e) {
      reject(e as Error);
    }
  });
}

/** The Kafka protocol error name (`apiId`, e.g. `ILLEGAL_GENERATION`) somewhere in a client error, if any. */
export function kafkaErrorIs(error: unknown, ...apiIds: string[]): boolean {
  if (!(error instanceof Error)) return false;
  return apiIds.some((id) => findErrorBy<GenericError>(error, 'apiId', id) !== null);
}

/** Errors that mean "the group moved on without this member": the commit or fetch is fenced. */
export const GENERATION_ERRORS = ['ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'REBALANCE_IN_PROGRESS', 'FENCED_INSTANCE_ID', 'STALE_MEMBER_EPOCH'];

/** Errors after which asking again (after a metadata or coordinator refresh) may succeed. */
export const TRANSIENT_ERRORS = [
  'NOT_COORDINATOR', 'COORDINATOR_NOT_AVAILABLE', 'COORDINATOR_LOAD_IN_PROGRESS', 'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE', 'REQUEST_TIMED_OUT', 'NOT_ENOUGH_REPLICAS', 'NOT_ENOUGH_REPLICAS_AFTER_APPEND', 'NETWORK_EXCEPTION',
  // Right after a leader election: the new leader's high watermark or epoch is not settled yet (ListOffsets, Fetch).
  'OFFSET_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH',
];

export function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return kafkaErrorIs(error, ...TRANSIENT_ERRORS) || findErrorBy<GenericError>(error, 'code', 'PLT_KFK_NETWORK') !== null
    || findErrorBy<GenericError>(error, 'code', 'PLT_KFK_TIMEOUT') !== null;
}

export function errorText(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const nested = (e as { errors?: unknown[] }).errors;
  const inner = Array.isArray(nested) && nested.length > 0 ? ` (${nested.map(errorText).join('; ')})` : '';
  return `${e.message}${inner}`;
}

/** The brokers could not be reached, or kept failing transiently past the retry budget. */
export class KafkaUnavailableError extends DwError {
  constructor(what: string, cause: unknown) {
    super('DW_STREAM_UNAVAILABLE', `Kafka unavailable: ${what} failed: ${errorText(cause)}`, { status: 503, cause });
  }
}

/** Retries `fn` while it fails transiently, for up to `forMs`; then throws KafkaUnavailableError. */
export async function withRetry<T>(what: string, forMs: number, closed: () => boolean, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + forMs;
  let delay = 50;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (!isTransient(e) || closed()) throw e;
      if (Date.now() + delay > deadline) throw new KafkaUnavailableError(what, e);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 1000);
    }
  }
}
