import { setTimeout as sleep } from 'node:timers/promises';
import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { StreamClosedError } from '../../../errors/index.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';

export function errorText(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** JetStream API error codes this adapter handles (nats-server server/errors.json). */
export const API_CODE = {
  streamNotFound: JetStreamApiCodes.StreamNotFound,
  consumerNotFound: JetStreamApiCodes.ConsumerNotFound,
  noMessageFound: JetStreamApiCodes.NoMessageFound,
  /** "stream name already in use with a different configuration" */
  streamNameInUse: 10058,
  /** "consumer already exists" (same name, other config) */
  consumerExists: 10148,
  /** "consumer name already in use" */
  consumerNameInUse: 10013,
  /** KV compare-and-set lost: "wrong last sequence" */
  wrongLastSequence: JetStreamApiCodes.StreamWrongLastSequence,
  /** The same, for a key whose last sequence the server answers as unknown (a KV create of a key written meanwhile). */
  wrongLastSequenceUnknown: JetStreamApiCodes.StreamWrongLastSequenceUnknown,
} as const;

/** JetStream API error code of an error, if it is one. */
export function apiCode(e: unknown): number | undefined {
  return e instanceof JetStreamApiError ? e.code : undefined;
}

/** A KV compare-and-set lost to another writer, or a create of a key that exists: re-read and try again. */
export function lostRace(e: unknown): boolean {
  const code = apiCode(e);
  return code === API_CODE.wrongLastSequence || code === API_CODE.wrongLastSequenceUnknown;
}

export function isNotFound(e: unknown): boolean {
  const code = apiCode(e);
  return code === JetStreamApiCodes.StreamNotFound || code === JetStreamApiCodes.ConsumerNotFound;
}

/**
 * Errors that go away by themselves: a stream or meta leader election (v3 reports a missing leader as
 * "jetstream is not enabled", or as no responders), a request timeout under load, a reconnect in progress,
 * or a 503 from the JetStream API ("system temporarily unavailable").
 */
export function isTransient(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  switch (e.name) {
    case 'TimeoutError':
    case 'JetStreamNotEnabled':
    case 'NoRespondersError':
      return true;
    case 'RequestError': {
      const re = e as Error & { isNoResponders?: () => boolean };
      return re.isNoResponders?.() === true || isTransient(e.cause);
    }
    case 'JetStreamApiError':
    case 'JetStreamError': {
      const status = (e as { status?: unknown }).status;
      if (status === 503 || status === 408) return true;
      return /temporarily unavailable|leader|no suitable peers|insufficient resources|not available|timeout|not current/i.test(e.message);
    }
    default:
      return /timeout|jetstream is not enabled|no responders|disconnect|reconnect/i.test(e.message);
  }
}

export interface RetryOptions {
  /** Give up after this long (the last error is wrapped in StreamUnavailableError). */
  forMs: number;
  /** Stops retrying at once (the stream closed). */
  closed: () => boolean;
}

/**
 * Runs `fn` until it succeeds, retrying transient errors with backoff (50 ms doubling to 1 s) for up to `forMs`.
 * Failovers take ~5 s on a 3-node cluster (notes), so callers give at least 30 s.
 */
export async function withRetry<T>(what: string, opts: RetryOptions, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + opts.forMs;
  for (let attempt = 0; ; attempt++) {
    if (opts.closed()) throw new StreamClosedError();
    try {
      return await fn();
    } catch (e) {
      if (opts.closed()) throw new StreamClosedError();
      if (!isTransient(e)) throw e;
      if (Date.now() >= deadline) throw new StreamUnavailableError(what, e);
      await sleep(Math.min(1000, 50 * 2 ** attempt));
    }
  }
}
