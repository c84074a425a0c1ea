import { statfsSync } from 'node:fs';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BackpressureError, StorageFullError } from '../errors/index.ts';

/**
 * Admission control of ingestion (issue 15, item 9): the one place that decides whether the platform takes one more
 * ingest request, before its body is read, so that a refused request costs neither memory nor disk. Beyond what the
 * platform carries it answers 503 with Retry-After and stores nothing; a client that retries later loses nothing,
 * and everything acknowledged (202/207) was stored. It recovers by itself: each signal falls back below its bound
 * once the load drops, and requests are taken again.
 *
 * Signals, each with its bound in the `ingest` configuration (src/config/schema.ts):
 * - consumer lag (`maxLag`): the alert or archive group is too far behind the reports topic. What the platform as a
 *   whole carries is what its slowest consumer carries; beyond it the stream only grows.
 * - in-flight ingest bytes (`maxInflightBytes`, by Content-Length, or `maxBodyBytes` when a body has none) and
 *   in-flight requests (`maxInflightRequests`): what this process holds in memory for requests it is working on.
 *   These bound memory whatever the offered load.
 * - event-loop delay (`maxEventLoopDelayMs`, the 99th percentile over the last second): the process is CPU-bound;
 *   taking more work would slow every request, alerts and the live feeds with them.
 * - free space where the stream is stored (`minFreeBytes`, checked every second): a full disk refuses with
 *   DW_STORAGE_FULL rather than failing half way through a write.
 */
export interface AdmissionOptions {
  maxInflightBytes: number;
  maxInflightRequests: number;
  /** 0 turns the event-loop signal off. */
  maxEventLoopDelayMs: number;
  /** Free bytes to keep on the filesystem of `dataDir`; 0 turns the check off. */
  minFreeBytes: number;
  /** Where the stream (and the lake, embedded) is written: the filesystem whose free space is watched. */
  dataDir?: string;
  /** Bytes assumed for a request without Content-Length (chunked): the body limit. */
  maxBodyBytes: number;
  /** Whether a consumer group is too far behind (PipelineMonitor). */
  lagging?: () => boolean;
  /** Seconds a refused client is told to wait. Default 2. */
  retryAfterSeconds?: number;
}

export interface AdmissionStats {
  inflightRequests: number;
  inflightBytes: number;
  eventLoopDelayMs: number;
  freeBytes: number | undefined;
  refused: Record<'lag' | 'bytes' | 'requests' | 'eventLoop' | 'storage', number>;
}

const SAMPLE_MS = 1000;

export class IngestAdmission {
  private inflightRequests = 0;
  private inflightBytes = 0;
  private delayMs = 0;
  private freeBytes: number | undefined;
  private readonly histogram: IntervalHistogram | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly refused: AdmissionStats['refused'] = { lag: 0, bytes: 0, requests: 0, eventLoop: 0, storage: 0 };
  readonly retryAfterSeconds: number;

  constructor(private readonly o: AdmissionOptions) {
    for (const k of ['maxInflightBytes', 'maxInflightRequests', 'maxBodyBytes'] as const) {
      if (!(Number.isInteger(o[k]) && o[k] > 0)) throw new RangeError(`IngestAdmission: ${k} must be a positive integer, got ${o[k]}`);
    }
    this.retryAfterSeconds = o.retryAfterSeconds ?? 2;
    if (o.maxEventLoopDelayMs > 0) {
      this.histogram = monitorEventLoopDelay({ resolution: 10 });
      this.histogram.enable();
    }
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_MS);
    this.timer.unref();
  }

  private sample(): void {
    if (this.histogram) {
      this.delayMs = this.histogram.count > 0 ? this.histogram.percentile(99) / 1e6 : 0;
      this.histogram.reset();
    }
    if (this.o.minFreeBytes > 0 && this.o.dataDir !== undefined) {
      try {
        const s = statfsSync(this.o.dataDir);
        this.freeBytes = s.bavail * s.bsize;
      } catch {
        this.freeBytes = undefined; // not created yet, or gone: the writes themselves will say
      }
    }
  }

  /**
   * Takes one request or throws (BackpressureError or StorageFullError, both 503 with Retry-After). What it takes is
   * given back when the response is finished or the connection closes.
   */
  admit(req: IncomingMessage, res: ServerResponse): void {
    const length = Number(req.headers['content-length']);
    const bytes = Number.isFinite(length) && length >= 0 ? Math.min(length, this.o.maxBodyBytes + 1) : this.o.maxBodyBytes;
    const wait = this.retryAfterSeconds;
    if (this.freeBytes !== undefined && this.freeBytes < this.o.minFreeBytes) {
      this.refused.storage++;
      throw new StorageFullError(`the disk where reports are stored has ${this.freeBytes} bytes free, under the ${this.o.minFreeBytes} kept free; nothing of this request was stored`, wait);
    }
    if (this.o.lagging?.()) {
      this.refused.lag++;
      throw new BackpressureError('consumers are too far behind; retry later (nothing of this request was stored)', wait);
    }
    if (this.inflightRequests >= this.o.maxInflightRequests) {
      this.refused.requests++;
      throw new BackpressureError(`ingestion is working on ${this.inflightRequests} requests, its limit; retry later (nothing of this request was stored)`, wait);
    }
    // One request alone may always go in (a body up to the body limit), or a big body would never be taken.
    if (this.inflightRequests > 0 && this.inflightBytes + bytes > this.o.maxInflightBytes) {
      this.refused.bytes++;
      throw new BackpressureError(`ingestion holds ${this.inflightBytes} bytes of request bodies, near its limit; retry later (nothing of this request was stored)`, wait);
    }
    if (this.histogram && this.delayMs > this.o.maxEventLoopDelayMs) {
      this.refused.eventLoop++;
      throw new BackpressureError(`the server is overloaded (event-loop delay ${Math.round(this.delayMs)} ms); retry later (nothing of this request was stored)`, wait);
    }
    this.inflightRequests++;
    this.inflightBytes += bytes;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.inflightRequests--;
      this.inflightBytes -= bytes;
    };
    res.once('finish', release);
    res.once('close', release);
  }

  /** A write failed on a full disk: refuse at once until the next free-space sample says otherwise. */
  storageFull(): void {
    if (this.o.minFreeBytes > 0) this.freeBytes = 0;
  }

  stats(): AdmissionStats {
    return {
      inflightRequests: this.inflightRequests, inflightBytes: this.inflightBytes, eventLoopDelayMs: this.delayMs,
      freeBytes: this.freeBytes, refused: { ...this.refused },
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.histogram?.disable();
  }
}
