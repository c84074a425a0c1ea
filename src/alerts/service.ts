import type { Stream } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { AlertBus } from './bus.ts';
import { ensureAlertsTopic, publishAlertEvents } from './publish.ts';
import type { AlertListQuery, AlertStore } from './store.ts';
import type { ReactionTimes } from './reaction.ts';
import type { Alert, AlertEvent } from './types.ts';
import type { WebhookSink } from './webhooks.ts';

export interface AlertServiceOptions {
  store: AlertStore;
  /** Where lifecycle events are published (`alerts` topic). Without it they stay in the store's outbox for the worker. */
  stream?: Stream;
  bus?: AlertBus;
  webhooks?: WebhookSink;
  logger?: Logger;
}

/**
 * The one path for officers' changes (HTTP API, CLI): change the store, then announce the change exactly like the
 * worker announces new alerts (bus, webhooks, `alerts` topic). The event is in the store's outbox from the same
 * transaction, so if the publish fails or the process dies, the alert worker publishes it later.
 */
export class AlertService {
  private readonly opts: AlertServiceOptions;
  private readonly logger: Logger;
  private topicReady: Promise<void> | undefined;

  constructor(opts: AlertServiceOptions) {
    this.opts = opts;
    this.logger = opts.logger ?? silentLogger;
  }

  get(alertId: string): Alert | undefined {
    return this.opts.store.get(alertId);
  }

  list(q?: AlertListQuery): Alert[] {
    return this.opts.store.list(q);
  }

  reactionTimes(from: number, to: number, tenant?: string): ReactionTimes {
    return this.opts.store.reactionTimes(from, to, tenant === undefined ? {} : { tenant });
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

  private async announce(event: AlertEvent): Promise<AlertEvent> {
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
        // The change itself succeeded; the event waits in the outbox for the worker's next drain.
        this.logger.warn({ err, eventId: event.eventId }, 'alert event publish failed; left in the outbox');
      }
    }
    return event;
  }
}
