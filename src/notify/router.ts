import { randomBytes } from 'node:crypto';
import { eventIdOf } from '../alerts/ids.ts';
import type { Alert, AlertEvent } from '../alerts/types.ts';
import type { Incident, IncidentEvent } from '../incidents/types.ts';
import { WebhookSink, type WebhookAttempt, type WebhookTarget } from '../alerts/webhooks.ts';
import { notificationsDelivered, notificationsFailed } from '../metrics/definitions.ts';
import type { CompiledZone } from '../rules/geo.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { NotifyConfig } from './config.ts';
import { DEFAULT_ROUTE, defaultTargetId } from './defaults.ts';
import { matchRoutes, nextDue, reachedTargets } from './route.ts';
import type { NotifyStore } from './store.ts';
import type { Delivery, NotificationKind, NotifyRoute, NotifyTarget, Page, PolicyVersion, Subject } from './types.ts';

type NotificationMeta = { kind: NotificationKind; route: string; policyVersion: number; level?: number; repeat?: number };

/** What a routed notification's body is: the alert event, and why it was sent (receivers may de-duplicate on eventId). */
export interface NotificationEvent extends AlertEvent {
  notification: NotificationMeta;
}

/** The body of an incident route's notification: the incident (no alert), and why it was sent. */
export interface IncidentNotification {
  eventId: string;
  type: 'opened' | 'acknowledged' | 'resolved';
  at: number;
  by: null;
  incident: Incident;
  notification: NotificationMeta;
}

/** Incident pages already opened here: most incident events are updates of one already routed. Bounded. */
const SEEN_MAX = 10_000;
/** Delivery log writes in flight at most (a shared store answers in milliseconds; SQLite at once). */
const MAX_LOG_WRITES = 1000;

export { DEFAULT_ROUTE, defaultTargetId } from './defaults.ts';

export interface NotificationRouterOptions {
  store: NotifyStore;
  config: NotifyConfig;
  /** `alerts.webhooks`: version 0 of every tenant without a policy, every event to each (as before policies). */
  defaultTargets: readonly WebhookTarget[];
  /** The zones of a tenant's rules in force, for routes matching zones. */
  zonesOf: (tenant: string) => Promise<ReadonlyMap<string, CompiledZone>>;
  logger?: Logger;
}

/**
 * Where alert events become notifications (what the alert worker and the API hand their events to, in place of the
 * bare WebhookSink). A tenant without a policy gets version 0: every event to each of `alerts.webhooks`, exactly as
 * before. A tenant with one: a raised alert goes to the targets of the routes it matches and opens a page per route
 * (the escalator's state, in the store); its acknowledgement and resolution go to every target the page reached.
 * `updated` and `assigned` events are not sent under a policy: repeats are by time (`repeatMinutes`), not per sighting.
 * Every attempt of every delivery is written to the delivery log. `send` never blocks nor throws.
 */
export class NotificationRouter {
  private readonly policies = new Map<string, PolicyVersion>();
  private readonly sinks = new Map<string, WebhookSink>();
  private readonly logger: Logger;
  private following: { stop(): void } | undefined;
  private readonly pending = new Set<Promise<void>>();
  private readonly seen = new Set<string>();
  private logWrites = 0;
  private logSkipped = 0;
  private closed = false;
  /** Called after a new policy version is in force here (tests and logs). */
  onVersion: ((tenant: string, version: number) => void) | undefined;

  constructor(private readonly o: NotificationRouterOptions) {
    this.logger = o.logger ?? silentLogger;
  }

  async start(): Promise<void> {
    this.following ??= await this.o.store.follow((v) => {
      if ((this.policies.get(v.tenant)?.version ?? 0) >= v.version) return;
      this.policies.set(v.tenant, v);
      this.logger.info({ tenant: v.tenant, version: v.version, author: v.author }, 'notification policy: new version in force');
      this.onVersion?.(v.tenant, v.version);
    });
  }

  /** The policy in force here for a tenant; undefined: version 0 (the configuration's webhooks). */
  policyOf(tenant: string): PolicyVersion | undefined {
    return this.policies.get(tenant);
  }

  send(event: AlertEvent): void {
    // A silenced alert is never notified (docs/alerts.md, "Silences"), whatever the policy.
    if (this.closed || event.alert.silenced !== undefined) return;
    const policy = this.policies.get(event.alert.tenant);
    if (!policy) {
      this.o.defaultTargets.forEach((t, i) => this.sink(event.alert.tenant, { ...t, id: defaultTargetId(i) }).send(event));
      return;
    }
    const a = event.alert;
    if (event.type === 'raised') this.track(this.raised(policy, event));
    else if (event.type === 'acknowledged' || event.type === 'resolved') {
      const how = event.type;
      this.track(this.closeSubject(policy, 'alert', a.alertId, how, (p) => this.deliver(policy, reachedTargets(p), a, { kind: how, route: p.routeId })));
    }
  }

  /** Sends one notification of `alert` to the given targets of `policy` (the escalator's repeats and escalations too). */
  deliver(policy: Pick<PolicyVersion, 'tenant' | 'version' | 'targets'>, targetIds: readonly string[], alert: Alert, n: { kind: NotificationKind; route: string; level?: number; repeat?: number }, at = Date.now()): void {
    const event: NotificationEvent = {
      eventId: eventIdOf(alert.alertId, `notify:${n.route}:${n.kind}`, n.level ?? n.repeat ?? 0),
      type: n.kind === 'acknowledged' || n.kind === 'resolved' ? n.kind : 'raised', at, by: null, alert,
      notification: { kind: n.kind, route: n.route, policyVersion: policy.version, ...(n.level !== undefined ? { level: n.level } : {}), ...(n.repeat !== undefined ? { repeat: n.repeat } : {}) },
    };
    for (const id of targetIds) {
      const t = policy.targets.find((x) => x.id === id);
      if (t) this.sink(policy.tenant, t).send(event);
    }
  }

  /**
   * Incident events (from the incident state's feed, whichever process made the change): an open incident is routed
   * by the policy's incident routes, at its opening or later when it reaches a route's severity or zone (each route
   * once: its page); its acknowledgement and resolution close its pages. Version 0 sends no incident notifications.
   */
  sendIncident(event: IncidentEvent): void {
    const i = event.incident;
    const policy = this.policies.get(i.tenant);
    if (this.closed || !policy) return;
    if (event.type === 'opened' || event.type === 'updated') {
      if (i.status === 'open' && policy.routes.some((r) => r.subject === 'incident')) this.track(this.opened(policy, i));
    } else if (event.type === 'acknowledged' || event.type === 'resolved') {
      const how = event.type;
      this.track(this.closeSubject(policy, 'incident', i.incidentId, how, (p) => this.deliverIncident(policy, reachedTargets(p), i, { kind: how, route: p.routeId })));
    } else if (event.type === 'merged') {
      // Absorbed into another incident, which carries on (and is routed on its own): nothing more for this one.
      this.track(this.closeSubject(policy, 'incident', i.incidentId, 'resolved', () => undefined));
    }
  }

  /** Sends one notification of an incident to the given targets of `policy`. */
  deliverIncident(policy: Pick<PolicyVersion, 'tenant' | 'version' | 'targets'>, targetIds: readonly string[], incident: Incident, n: { kind: NotificationKind; route: string; level?: number; repeat?: number }, at = Date.now()): void {
    const body: IncidentNotification = {
      eventId: eventIdOf(`incident:${incident.incidentId}`, `notify:${n.route}:${n.kind}`, n.level ?? n.repeat ?? 0),
      type: n.kind === 'acknowledged' || n.kind === 'resolved' ? n.kind : 'opened', at, by: null, incident,
      notification: { kind: n.kind, route: n.route, policyVersion: policy.version, ...(n.level !== undefined ? { level: n.level } : {}), ...(n.repeat !== undefined ? { repeat: n.repeat } : {}) },
    };
    // The sink reads eventId, type and alert?.silenced (absent: an incident is never silenced: it groups unsilenced
    // alerts only) and posts the JSON: an incident notification goes through the same queue, retries and signature.
    const event = body as unknown as AlertEvent;
    for (const id of targetIds) {
      const t = policy.targets.find((x) => x.id === id);
      if (t) this.sink(policy.tenant, t).send(event);
    }
  }

  private async raised(policy: PolicyVersion, event: AlertEvent): Promise<void> {
    const a = event.alert;
    const routes = policy.routes.filter((r) => r.subject !== 'incident');
    const zones = routes.some((r) => r.match.zones !== undefined) ? await this.o.zonesOf(a.tenant) : new Map<string, CompiledZone>();
    for (const r of matchRoutes(routes, a, zones)) {
      if (await this.openPage(r, 'alert', a.tenant, a.alertId, a.raisedAt)) this.deliver(policy, r.targets, a, { kind: 'notify', route: r.id });
    }
  }

  private async opened(policy: PolicyVersion, i: Incident): Promise<void> {
    const routes = policy.routes.filter((r) => r.subject === 'incident');
    const zones = routes.some((r) => r.match.zones !== undefined) ? await this.o.zonesOf(i.tenant) : new Map<string, CompiledZone>();
    for (const r of matchRoutes(routes, { severity: i.severity, position: i.centroid }, zones)) {
      const key = `${i.tenant}/${i.incidentId}/${r.id}/${policy.version}`;
      if (this.seen.has(key)) continue;
      if (this.seen.size >= SEEN_MAX) this.seen.clear();
      this.seen.add(key);
      if (await this.openPage(r, 'incident', i.tenant, i.incidentId, i.openedAt)) this.deliverIncident(policy, r.targets, i, { kind: 'notify', route: r.id });
    }
  }

  /** Opens the subject's page for a route; false when it exists (already routed: a redelivery, another process). */
  private async openPage(r: NotifyRoute, subject: Subject, tenant: string, id: string, raisedAt: number): Promise<boolean> {
    const route = { targets: r.targets, ...(r.repeatMinutes !== undefined ? { repeatMinutes: r.repeatMinutes } : {}), ...(r.escalate ? { escalate: r.escalate } : {}) };
    const page: Page = { tenant, subject, subjectId: id, routeId: r.id, route, raisedAt, level: 0, repeats: 0, lastSentAt: Date.now(), nextAt: null, done: false };
    page.nextAt = nextDue(page, this.o.config.minuteMs);
    try {
      return await this.o.store.createPage(page);
    } catch (err) {
      // Better told once without escalation than not told: the notification still goes.
      this.logger.warn({ err, tenant, subject, id, route: r.id }, 'notification page not stored: no repeat nor escalation for it');
      return true;
    }
  }

  /** Closes the subject's pages and tells every target each one reached; the page's compare-and-set makes it once. */
  private async closeSubject(policy: PolicyVersion, subject: Subject, id: string, how: 'acknowledged' | 'resolved', notify: (p: Page) => void): Promise<void> {
    const tenant = policy.tenant;
    for (let attempt = 0; attempt < 5; attempt++) {
      let lost = false;
      for (const s of await this.o.store.pages(tenant, subject, id)) {
        const p = s.page;
        if (p.closed === how || p.closed === 'resolved') continue;
        if (!(await this.o.store.updatePage({ ...p, done: true, closed: how, nextAt: null }, s.revision))) {
          lost = true;
          continue;
        }
        notify(p);
      }
      if (!lost) return;
    }
  }

  private track(p: Promise<void>): void {
    const t = p.catch((err: unknown) => this.logger.warn({ err }, 'notification routing failed')).finally(() => this.pending.delete(t));
    this.pending.add(t);
  }

  /** One sink (queue, retries, signature) per tenant and target: a slow receiver delays only its own notifications. */
  private sink(tenant: string, t: NotifyTarget): WebhookSink {
    const key = JSON.stringify([tenant, t.id, t.url, t.secret ?? null, t.timeoutMs ?? null]);
    let s = this.sinks.get(key);
    if (!s) {
      const c = this.o.config;
      s = new WebhookSink({
        webhooks: [{ url: t.url, ...(t.secret !== undefined ? { secret: t.secret } : {}), ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}) }],
        maxAttempts: c.maxAttempts, baseDelayMs: c.baseDelayMs, maxDelayMs: c.maxDelayMs, logger: this.logger,
        onAttempt: (x) => this.logAttempt(tenant, t.id, x),
      });
      this.sinks.set(key, s);
    }
    return s;
  }

  private logAttempt(tenant: string, target: string, x: WebhookAttempt): void {
    const n = (x.event as Partial<NotificationEvent>).notification;
    const incident = (x.event as unknown as Partial<IncidentNotification>).incident;
    const httpStatus = x.error !== undefined ? /^HTTP (\d{3})/.exec(x.error)?.[1] : undefined;
    const d: Delivery = {
      id: randomBytes(8).toString('hex'), tenant, at: new Date().toISOString(),
      ...(incident ? { incidentId: incident.incidentId } : { alertId: x.event.alert.alertId }), eventId: x.event.eventId,
      kind: n?.kind ?? 'event', route: n?.route ?? DEFAULT_ROUTE, target, attempt: x.attempt,
      status: x.outcome === 'delivered' ? 'delivered' : x.outcome, ...(httpStatus !== undefined ? { httpStatus: Number(httpStatus) } : {}),
      // The receiver's answer is not kept: only its status or the network error's message (no personal data).
      ...(x.error !== undefined ? { error: x.error.slice(0, 200) } : {}),
    };
    if (x.outcome === 'delivered') notificationsDelivered.inc({ tenant, target });
    else if (x.outcome === 'failed' || x.outcome === 'dropped') notificationsFailed.inc({ tenant, target });
    // A slow shared store must not pile up writes in memory: beyond MAX_LOG_WRITES in flight, entries are skipped
    // (counted, and said in the log once per burst); the metrics above still count every outcome.
    if (this.logWrites >= MAX_LOG_WRITES) {
      if (this.logSkipped++ === 0) this.logger.warn({ tenant, target }, 'delivery log: too many writes in flight; skipping entries');
      return;
    }
    this.logWrites++;
    this.o.store.appendDelivery(d).catch((err: unknown) => this.logger.warn({ err, tenant, target }, 'delivery log write failed')).finally(() => {
      if (--this.logWrites === 0 && this.logSkipped > 0) {
        this.logger.warn({ skipped: this.logSkipped }, 'delivery log: entries skipped while the store was slow');
        this.logSkipped = 0;
      }
    });
  }

  /** Waits for routing in progress and every queue to drain, up to `timeoutMs`. */
  async flush(timeoutMs = 5000): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    await Promise.race([Promise.all([...this.pending]), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    const left = Math.max(0, end - Date.now());
    const drained = await Promise.all([...this.sinks.values()].map((s) => s.flush(left)));
    return drained.every(Boolean);
  }

  async close(timeoutMs = 5000): Promise<void> {
    if (this.closed) return;
    await this.flush(timeoutMs);
    this.closed = true;
    this.following?.stop();
    await Promise.all([...this.sinks.values()].map((s) => s.close(0)));
  }
}
