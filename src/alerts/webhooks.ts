import { createHmac } from 'node:crypto';
import { silentLogger, type Logger } from '../util/log.ts';
import type { AlertEvent } from './types.ts';
import { urlForLog } from './webhook-url.ts';

export interface WebhookTarget {
  url: string;
  /** HMAC-SHA256 key: requests then carry `x-dronewatch-signature: sha256=<hex of HMAC(body)>`. */
  secret?: string;
  /** Per attempt. Default 2000 ms. */
  timeoutMs?: number;
}

export interface WebhookSinkOptions {
  webhooks: readonly WebhookTarget[];
  /** Events waiting per target; when full the oldest is dropped (and counted). Default 10,000. */
  maxQueue?: number;
  /** Attempts per event, the first included. Default 6. */
  maxAttempts?: number;
  /** First retry delay; doubles each attempt, with full jitter. Default 250 ms. */
  baseDelayMs?: number;
  /** Cap on one retry delay, Retry-After included. Default 30 s. */
  maxDelayMs?: number;
  logger?: Logger;
  /** Told of every attempt's outcome (the notification delivery log, src/notify/); must not throw. */
  onAttempt?: (a: WebhookAttempt) => void;
}

export interface WebhookAttempt {
  event: AlertEvent;
  url: string;
  /** 0 for an event dropped unsent (queue full). */
  attempt: number;
  outcome: 'delivered' | 'retrying' | 'failed' | 'dropped';
  error?: string;
}

export interface WebhookTargetStats {
  url: string;
  queued: number;
  inFlight: number;
  delivered: number;
  /** Gave up: a 4xx other than 429, or `maxAttempts` reached. */
  failed: number;
  /** Dropped unsent because the queue was full (oldest first). */
  dropped: number;
  retries: number;
}

export type WebhookStats = { enqueued: number } & Omit<WebhookTargetStats, 'url'> & { targets: WebhookTargetStats[] };

/** Signature of a webhook body: what receivers recompute with the shared secret. */
export function signWebhookBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

class RetryableError extends Error {
  readonly retryAfterMs: number | undefined;
  constructor(message: string, retryAfterMs?: number) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

class TargetQueue {
  readonly stats: WebhookTargetStats;
  private readonly queue: AlertEvent[] = [];
  private head = 0;
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private readonly target: WebhookTarget;
  private readonly sink: WebhookSink;

  constructor(target: WebhookTarget, sink: WebhookSink) {
    this.target = target;
    this.sink = sink;
    this.stats = { url: target.url, queued: 0, inFlight: 0, delivered: 0, failed: 0, dropped: 0, retries: 0 };
  }

  push(e: AlertEvent): void {
    if (this.stats.queued >= this.sink.maxQueue) {
      const oldest = this.queue[this.head];
      if (oldest) this.sink.onAttempt?.({ event: oldest, url: this.target.url, attempt: 0, outcome: 'dropped', error: 'queue full' });
      this.queue[this.head++] = undefined as unknown as AlertEvent;
      this.stats.queued--;
      this.stats.dropped++;
    }
    this.queue.push(e);
    this.stats.queued++;
    if (!this.running) void this.run();
  }

  get idle(): boolean {
    return this.stats.queued === 0 && this.stats.inFlight === 0;
  }

  whenIdle(): Promise<void> {
    return this.idle ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  clear(): void {
    this.stats.dropped += this.stats.queued;
    this.queue.length = 0;
    this.head = 0;
    this.stats.queued = 0;
  }

  /** One event in flight per target: receivers see each target's events in order, and a dead target cannot pile up sockets. */
  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.stats.queued > 0 && !this.sink.closed) {
        const e = this.queue[this.head]!;
        this.queue[this.head++] = undefined as unknown as AlertEvent;
        this.stats.queued--;
        if (this.head > 1024 && this.head * 2 > this.queue.length) {
          this.queue.splice(0, this.head);
          this.head = 0;
        }
        this.stats.inFlight++;
        try {
          await this.deliver(e);
        } finally {
          this.stats.inFlight--;
        }
      }
    } finally {
      this.running = false;
      if (this.idle || this.sink.closed) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async deliver(e: AlertEvent): Promise<void> {
    const body = JSON.stringify(e);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'dronewatch-webhooks',
      'x-dronewatch-event': e.type,
      'x-dronewatch-event-id': e.eventId,
    };
    if (this.target.secret) headers['x-dronewatch-signature'] = signWebhookBody(this.target.secret, body);
    const log = this.sink.logger;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.attempt(body, { ...headers, 'x-dronewatch-attempt': String(attempt) });
        this.stats.delivered++;
        this.sink.onAttempt?.({ event: e, url: this.target.url, attempt, outcome: 'delivered' });
        return;
      } catch (err) {
        const retryable = err instanceof RetryableError;
        const giveUp = !retryable || attempt >= this.sink.maxAttempts || this.sink.closed;
        this.sink.onAttempt?.({ event: e, url: this.target.url, attempt, outcome: giveUp ? 'failed' : 'retrying', error: (err as Error).message });
        if (giveUp) {
          this.stats.failed++;
          log.warn({ err, url: urlForLog(this.target.url), eventId: e.eventId, attempt }, 'webhook delivery failed, giving up');
          return;
        }
        this.stats.retries++;
        const backoff = Math.random() * Math.min(this.sink.maxDelayMs, this.sink.baseDelayMs * 2 ** (attempt - 1));
        const delay = Math.min(this.sink.maxDelayMs, Math.max(backoff, err.retryAfterMs ?? 0));
        log.debug({ url: urlForLog(this.target.url), eventId: e.eventId, attempt, delay }, 'webhook retry');
        await this.sink.sleep(delay);
        if (this.sink.closed) {
          // close() cut the wait short: the event is abandoned unsent.
          this.stats.dropped++;
          return;
        }
      }
    }
  }

  private async attempt(body: string, headers: Record<string, string>): Promise<void> {
    let res: Response;
    try {
      res = await fetch(this.target.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(this.target.timeoutMs ?? 2000) });
    } catch (err) {
      // Some of fetch's messages quote the URL: the log and the delivery log get the form without secrets.
      const message = (err as Error).message.replaceAll(this.target.url, urlForLog(this.target.url));
      throw new RetryableError(`network error: ${message}`);
    }
    // Drain the body so the connection can be reused.
    await res.arrayBuffer().catch(() => undefined);
    if (res.ok) return;
    if (res.status >= 500 || res.status === 429) throw new RetryableError(`HTTP ${res.status}`, retryAfterMs(res.headers.get('retry-after')));
    throw new Error(`HTTP ${res.status}`);
  }
}

/** `Retry-After` is seconds or an HTTP date. */
function retryAfterMs(h: string | null): number | undefined {
  if (!h) return undefined;
  const s = Number(h);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const t = Date.parse(h);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/**
 * Delivers alert events to HTTP endpoints, off the hot path: `send` only enqueues; each target has its own bounded
 * queue and sender, so a slow or dead endpoint delays nobody else and costs bounded memory (oldest events dropped).
 */
export class WebhookSink {
  readonly maxQueue: number;
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  readonly logger: Logger;
  readonly onAttempt: ((a: WebhookAttempt) => void) | undefined;
  closed = false;
  private enqueued = 0;
  private readonly targets: TargetQueue[];
  private readonly closing = new AbortController();

  constructor(opts: WebhookSinkOptions) {
    this.maxQueue = Math.max(1, opts.maxQueue ?? 10_000);
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 6);
    this.baseDelayMs = opts.baseDelayMs ?? 250;
    this.maxDelayMs = opts.maxDelayMs ?? 30_000;
    this.logger = opts.logger ?? silentLogger;
    this.onAttempt = opts.onAttempt;
    this.targets = opts.webhooks.map((t) => new TargetQueue(t, this));
  }

  /** Enqueues the event for every target; never blocks, never throws. */
  send(event: AlertEvent): void {
    // A silenced alert is never notified (docs/alerts.md, "Silences").
    if (this.closed || this.targets.length === 0 || event.alert?.silenced !== undefined) return;
    this.enqueued++;
    for (const t of this.targets) t.push(event);
  }

  /** Waits until every queue is empty and nothing is in flight, or `timeoutMs` passed. True when drained. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const drained = Promise.all(this.targets.map((t) => t.whenIdle())).then(() => true);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    try {
      return await Promise.race([drained, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Flushes for up to `timeoutMs`, then stops: pending retries are abandoned and what is still queued is dropped. */
  async close(timeoutMs = 5000): Promise<boolean> {
    if (this.closed) return true;
    const drained = await this.flush(timeoutMs);
    this.closed = true;
    this.closing.abort();
    for (const t of this.targets) t.clear();
    return drained;
  }

  /** Backoff wait, cut short by close(). Unref'd: a pending retry does not keep the process alive. */
  sleep(ms: number): Promise<void> {
    const signal = this.closing.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }

  stats(): WebhookStats {
    const targets = this.targets.map((t) => ({ ...t.stats }));
    const sum = (k: keyof Omit<WebhookTargetStats, 'url'>): number => targets.reduce((n, t) => n + t[k], 0);
    return {
      enqueued: this.enqueued,
      queued: sum('queued'),
      inFlight: sum('inFlight'),
      delivered: sum('delivered'),
      failed: sum('failed'),
      dropped: sum('dropped'),
      retries: sum('retries'),
      targets,
    };
  }
}
