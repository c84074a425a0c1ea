import { randomUUID } from 'node:crypto';
import type { Stream, StreamConsumer } from '../stream/types.ts';
import { TOPICS } from '../stream/topics.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { AlertEvent } from './types.ts';

export type AlertListener = (event: AlertEvent) => void;

export interface AlertBusOptions {
  /** How many recent event ids are remembered to drop duplicates. Default 4096. */
  recentIds?: number;
  logger?: Logger;
}

/**
 * In-process fan-out of alert events (to WebSocket/SSE clients, tests, benchmarks). Synchronous: `publish` returns
 * after every listener ran, which keeps the latency from the worker to the listeners at a function call.
 *
 * The same event can reach one process twice (its own worker or API emits it, and the `alerts` topic feed brings it
 * back; or a redelivery after a crash): the bus remembers the last `recentIds` event ids and drops repeats.
 */
export class AlertBus {
  private listeners: readonly AlertListener[] = [];
  private readonly recent = new Set<string>();
  private readonly maxRecent: number;
  private readonly logger: Logger;
  private listenerErrors = 0;

  constructor(opts: AlertBusOptions = {}) {
    this.maxRecent = Math.max(0, opts.recentIds ?? 4096);
    this.logger = opts.logger ?? silentLogger;
  }

  /** Returns the unsubscribe function. */
  subscribe(listener: AlertListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Delivers to every listener; a throwing listener is logged and skipped. Returns false for a duplicate or silenced event. */
  publish(event: AlertEvent): boolean {
    // A silenced alert is stored and listed, never a live cue (docs/alerts.md, "Silences").
    if (event.alert?.silenced !== undefined) return false;
    if (this.maxRecent > 0) {
      if (this.recent.has(event.eventId)) return false;
      this.recent.add(event.eventId);
      if (this.recent.size > this.maxRecent) this.recent.delete(this.recent.values().next().value!);
    }
    // Copy-on-write array: (un)subscribing from inside a listener does not disturb this loop.
    const ls = this.listeners;
    for (let i = 0; i < ls.length; i++) {
      try {
        ls[i]!(event);
      } catch (err) {
        this.listenerErrors++;
        this.logger.warn({ err, eventId: event.eventId }, 'alert listener threw');
      }
    }
    return true;
  }

  get listenerCount(): number {
    return this.listeners.length;
  }

  stats(): { listeners: number; listenerErrors: number } {
    return { listeners: this.listeners.length, listenerErrors: this.listenerErrors };
  }
}

export interface AlertFeedOptions {
  /** Consumer group; default `feed-<random>` so every process gets every event. */
  group?: string;
  /** Poll wait; default 100 ms. */
  waitMs?: number;
  logger?: Logger;
}

export interface AlertFeed {
  readonly group: string;
  /** Resolves once the feed's consumer has joined (it reads events published after that). */
  readonly ready: Promise<void>;
  stop(): Promise<void>;
}

/**
 * For a process that serves alerts but does not run the alert worker (`serve`): reads the `alerts` topic from its
 * end (`latest`: a feed shows what happens now; history is in the store) and republishes each event on the local bus.
 * Offsets are never committed: a restarted feed starts at the end again.
 */
export function streamAlertFeed(stream: Stream, bus: AlertBus, opts: AlertFeedOptions = {}): AlertFeed {
  const group = opts.group ?? `feed-${randomUUID().slice(0, 8)}`;
  const logger = opts.logger ?? silentLogger;
  const abort = new AbortController();
  let consumer: StreamConsumer | undefined;
  // Transient: a feed never commits and starts at the end again, so its group goes with its process.
  const ready = stream.consumer({ topic: TOPICS.alerts, group, start: 'latest', transient: true }).then((c) => {
    consumer = c;
  });
  const loop = (async () => {
    await ready;
    const c = consumer!;
    while (!abort.signal.aborted) {
      let records;
      try {
        records = await c.poll({ maxRecords: 1000, waitMs: opts.waitMs ?? 100, signal: abort.signal });
      } catch (err) {
        if (abort.signal.aborted) break;
        logger.error({ err }, 'alert feed poll failed');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      for (const r of records) {
        let event: AlertEvent;
        try {
          event = JSON.parse(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength).toString('utf8')) as AlertEvent;
        } catch (err) {
          logger.warn({ err, partition: r.partition, offset: r.offset }, 'alert feed: not JSON, skipped');
          continue;
        }
        bus.publish(event);
      }
    }
  })();
  loop.catch((err: unknown) => logger.error({ err }, 'alert feed stopped'));
  return {
    group,
    ready,
    async stop() {
      abort.abort();
      await loop.catch(() => undefined);
      await consumer?.close();
    },
  };
}
