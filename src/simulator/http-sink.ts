import { setTimeout as sleep } from 'node:timers/promises';
import type { Report } from '../contract/types.ts';
import { DwError } from '../errors/index.ts';
import type { ReportSink } from './runner.ts';

/** The ingestion endpoint refused a batch for good (4xx), or kept failing for longer than the retry budget. */
export class SinkFailedError extends DwError {
  /** Last HTTP status received, undefined after network errors. */
  readonly httpStatus: number | undefined;
  constructor(message: string, httpStatus: number | undefined, cause?: unknown) {
    super('DW_SIMULATOR_SINK_FAILED', message, { status: 502, cause });
    this.httpStatus = httpStatus;
  }
}

export interface HttpSinkOptions {
  /** Sent as `authorization: Bearer <token>`. */
  token?: string;
  /** Stop retrying a batch after this long and fail (ms). Default 5 minutes. */
  maxRetryMs?: number;
  /** Per request (ms). Default 30 s. */
  timeoutMs?: number;
  /** First back-off delay (ms), doubled per attempt up to maxBackoffMs. Defaults 250 and 10,000. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Aborts a request or back-off in progress (the sink call then rejects with the abort reason). */
  signal?: AbortSignal;
  /** Called before each retry: for logging. */
  onRetry?: (info: { attempt: number; delayMs: number; reason: string }) => void;
}

/** A Retry-After header (seconds or HTTP date) in ms, capped, or undefined when absent or unreadable. */
function retryAfterMs(header: string | null, capMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const text = header.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(text)) ms = Number(text) * 1000;
  else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return undefined;
    ms = at - Date.now();
  }
  return Math.min(capMs, Math.max(0, ms));
}

/** Statuses that mean "try again later": overload, throttling, gateways and timeouts. */
function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * A sink posting each batch as NDJSON to `<url>/v1/reports`. Retries (same body) on 503/429 after the server's
 * Retry-After, and on other 5xx and network errors with exponential back-off, for up to `maxRetryMs`; fails at once on
 * other 4xx with the server's answer in the message. Retrying a batch is safe: report ids are derived from
 * (droneId, timestamp), so ingestion recognises reports it already accepted.
 */
export function httpSink(url: string, opts: HttpSinkOptions = {}): ReportSink {
  const endpoint = `${url.replace(/\/+$/, '')}/v1/reports`;
  const maxRetryMs = opts.maxRetryMs ?? 300_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const backoffMs = opts.backoffMs ?? 250;
  const maxBackoffMs = opts.maxBackoffMs ?? 10_000;
  const headers: Record<string, string> = { 'content-type': 'application/x-ndjson' };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;

  return async (batch: Report[]): Promise<void> => {
    if (batch.length === 0) return;
    let body = '';
    for (const r of batch) body += `${JSON.stringify(r)}\n`;
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      opts.signal?.throwIfAborted();
      let status: number | undefined;
      let reason: string;
      let serverDelay: number | undefined;
      let cause: unknown;
      try {
        const timeout = AbortSignal.timeout(timeoutMs);
        const res = await fetch(endpoint, {
          method: 'POST',
          headers,
          body,
          signal: opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout,
        });
        status = res.status;
        // Read the body in every case: it frees the connection for reuse, and errors quote it.
        const text = await res.text();
        if (res.ok) return;
        reason = `${endpoint} answered ${res.status}: ${text.slice(0, 500)}`;
        if (!retryable(res.status)) throw new SinkFailedError(reason, res.status);
        serverDelay = retryAfterMs(res.headers.get('retry-after'), 60_000);
      } catch (e) {
        if (e instanceof SinkFailedError) throw e;
        if (opts.signal?.aborted) throw opts.signal.reason;
        cause = e;
        const detail = e instanceof Error ? `${e.message}${e.cause instanceof Error ? ` (${e.cause.message})` : ''}` : String(e);
        reason = status === undefined ? `${endpoint} unreachable: ${detail}` : `${endpoint} answered ${status}, reading the body failed: ${detail}`;
      }
      const delayMs = serverDelay ?? Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
      if (Date.now() - started + delayMs > maxRetryMs) {
        throw new SinkFailedError(`giving up after ${attempt} attempts: ${reason}`, status, cause);
      }
      opts.onRetry?.({ attempt, delayMs, reason });
      await sleep(delayMs, undefined, opts.signal ? { signal: opts.signal } : undefined);
    }
  };
}
