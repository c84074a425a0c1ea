import type { Stream } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { AlertBus } from './bus.ts';
import { ensureAlertsTopic, publishAlertEvents } from './publish.ts';
import type { AlertListQuery } from './state.ts';
import type { AlertState } from './state.ts';
import type { AlertEvent } from './types.ts';
import type { WebhookSink } from './webhooks.ts';

export interface AlertServiceOptions<S extends AlertState = AlertState> {
  /** The SQLite store (reads answer synchronously) or the KV state (reads answer with promises). */
  store: S;
  /** Where lifecycle events are published (`alerts` topic). Without it they stay in the store's outbox for the worker. */
  stream?: Stream;
  bus?: AlertBus;
  /** Where events become notifications: src/notify/'s router (policies per tenant), or a bare WebhookSink. */
  webhooks?: Pick<WebhookSink, 'send'>;
  logger?: Logger;
}

/**
 * The one path for officers' changes (HTTP API, CLI): change the store, then announce the change exactly like the
 * worker announces new alerts (bus, webhooks, `alerts` topic). The event is in the store's outbox from the same
 * transaction, so if the publish fails or the process dies, the alert worker publishes it later.
 */
export class AlertService<S extends AlertState = AlertState> {
  private readonly opts: AlertServiceOptions<S>;
  private readonly logger: Logger;
  private topicReady: Promise<void> | undefined;

  constructor(opts: AlertServiceOptions<S>) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
  }

  // Reads answer the way the store does: synchronously from SQLite, with a promise from the KV state.
  get(alertId: string): ReturnType<S['get']> {
    return this.opts.store.get(alertId) as ReturnType<S['get']>;
  }

  list(q?: AlertListQuery): ReturnType<S['list']> {
    return this.opts.store.list(q) as ReturnType<S['list']>;
  }

  reactionTimes(from: number, to: number, tenant?: string): ReturnType<S['reactionTimes']> {
    return this.opts.store.reactionTimes(from, to, tenant === undefined ? {} : { tenant }) as ReturnType<S['reactionTimes']>;
  }

  acknowledge(alertId: string, by: string, note?: string): Promise<AlertEvent> {
    return this.announce(this.opts.store.acknowledge(alertId, by, note));
  }

  assign(alertId: string, assignee: string, by: string): Promise<AlertEvent> {
    return this.announce(this.opts.store.assign(alertId, assignee, by));
  }

  resolve(alertId: string, by: string, note?: string): Promise<AlertEvent> {
    return this.announce(this.opts.store.resolve(alertId, by, note));
  }

  private async announce(change: AlertEvent | Promise<AlertEvent>): Promise<AlertEvent> {
    const event = await change;
    this.opts.bus?.publish(event);
    this.opts.webhooks?.send(event);
    const stream = this.opts.stream;
    if (stream) {
      try {
        this.topicReady ??= ensureAlertsTopic(stream);
        await this.topicReady;
        await publishAlertEvents(stream, this.opts.store, [event]);
      } catch (err) {
        this.topicReady = undefined;
        // The change itself succeeded, and its event waits in the outbox for an alert worker's next drain: the SQLite
        // store's outbox table, or the alert record's `pending` events in the KV state (docs/alerts.md).
        this.logger.warn({ err, eventId: event.eventId }, 'alert event publish failed; the change is stored');
      }
    }
    return event;
  }
}
