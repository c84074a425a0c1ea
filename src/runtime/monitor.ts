import { TOPICS, type Stream } from '../stream/index.ts';

/** Consumer groups whose lag decides backpressure: the two consumers every report must go through. */
const WATCHED_GROUPS = ['alerts', 'archive'] as const;
const REFRESH_MS = 500;
/** The stream counts as unreachable when no lag could be read for this long (ten refreshes). */
const UNREACHABLE_AFTER_MS = 5000;

/**
 * Watches the lag of the alert and archive groups on the `reports` topic. Reading lag costs a query, so it is
 * refreshed on a timer and read from memory on the hot path (every HTTP request, every simulator batch).
 */
export class PipelineMonitor {
  private lag: Record<string, number> = {};
  /** When the lag was last read, and why the last attempt failed (if it did). */
  private readAt = Date.now();
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing = false;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly stream: Stream, private readonly opts: { maxLag: number }) {}

  start(): void {
    if (this.timer) return;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), REFRESH_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const w of this.waiters) w();
  }

  current(): { lag: Record<string, number>; overloaded: boolean; reachable: boolean; error?: string } {
    const reachable = Date.now() - this.readAt < UNREACHABLE_AFTER_MS;
    return {
      lag: this.lag, overloaded: Object.values(this.lag).some((n) => n > this.opts.maxLag), reachable,
      ...(!reachable && this.lastError !== undefined ? { error: this.lastError } : {}),
    };
  }

  /** The in-process producer's backpressure: waits while a consumer group is too far behind. */
  async waitUntilBelowLimit(signal: AbortSignal): Promise<void> {
    while (this.current().overloaded && !signal.aborted && this.timer) {
      await new Promise<void>((resolve) => {
        this.waiters.add(resolve);
        setTimeout(() => { this.waiters.delete(resolve); resolve(); }, REFRESH_MS).unref();
      });
    }
  }

  private async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      const next: Record<string, number> = {};
      for (const group of WATCHED_GROUPS) {
        const parts = await this.stream.lag(TOPICS.reports, group);
        next[group] = parts.reduce((n, p) => n + p.lag, 0);
      }
      this.lag = next;
      this.readAt = Date.now();
      this.lastError = undefined;
      if (!this.current().overloaded) for (const w of this.waiters) w();
    } catch (e) {
      // The stream is closing, busy or unreachable: keep the last figures; readiness says so after a while.
      this.lastError = e instanceof Error ? e.message : String(e);
    } finally {
      this.refreshing = false;
    }
  }
}
