import type { Alert } from '../alerts/types.ts';
import type { Incident, IncidentRecord } from '../incidents/types.ts';
import { notificationsEscalated } from '../metrics/definitions.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { NotifyConfig } from './config.ts';
import type { NotificationRouter } from './router.ts';
import { nextDue, reachedTargets } from './route.ts';
import type { NotifyStore, StoredPage } from './store.ts';
import type { Page, PolicyVersion } from './types.ts';

export interface EscalatorOptions {
  store: NotifyStore;
  router: NotificationRouter;
  /** The alert state: a page is acted on only while its alert is still open. */
  alerts: { get(alertId: string): Alert | undefined | Promise<Alert | undefined> };
  /** The incident state, for incident routes' pages (absent: they are closed unsent). */
  incidents?: { get(incidentId: string, tenant?: string): IncidentRecord | undefined | Promise<IncidentRecord | undefined> };
  /** The policy version whose targets a page's notifications go to (its URLs and secrets). */
  policyOf: (tenant: string) => Promise<PolicyVersion | undefined>;
  config: Pick<NotifyConfig, 'minuteMs' | 'tickMs' | 'retentionHours' | 'maxDeliveries'>;
  logger?: Logger;
}

const DUE_PER_TICK = 200;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Repeats and escalations, run by every alert worker process. State is in the store, never only in a timer: each
 * tick reads the pages whose time has come (so a restarted worker carries on where the last one was), checks that
 * the alert is still open, and claims the page's next step with a compare-and-set before sending. Of two workers
 * that see the same page due, one wins the claim and sends; the other is told it lost and sends nothing. A claim
 * made just before a crash can lose that one notification (claim, then send: at most once per level, never twice).
 */
export class Escalator {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private lastPrune = 0;
  private readonly logger: Logger;
  readonly stats = { escalations: 0, repeats: 0, lostClaims: 0, closed: 0 };

  constructor(private readonly o: EscalatorOptions) {
    this.logger = o.logger ?? silentLogger;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.tick().catch((err: unknown) => { this.logger.warn({ err }, 'escalation tick failed'); }).then(() => { this.running = undefined; });
    }, this.o.config.tickMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the due pages; resolves with how many notifications it sent. */
  async tick(now = Date.now()): Promise<number> {
    let sent = 0;
    for (const s of await this.o.store.duePages(now, DUE_PER_TICK)) {
      if (await this.step(s, now)) sent++;
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      await this.o.store.prune({ before: now - this.o.config.retentionHours * 3600_000, maxPerTenant: this.o.config.maxDeliveries });
    }
    return sent;
  }

  private async step(s: StoredPage, now: number): Promise<boolean> {
    const p = s.page;
    const subject = await this.subjectOf(p);
    const status = subject?.kind === 'alert' ? subject.alert.status : subject?.incident.status;
    if (!subject || status !== 'open') {
      // Acknowledged or resolved (by an officer, or through its incident), merged, or gone: nothing more to send.
      const closed = status === 'acknowledged' || status === 'resolved' ? { closed: status } : {};
      if (await this.o.store.updatePage({ ...p, done: true, nextAt: null, ...closed }, s.revision)) this.stats.closed++;
      return false;
    }
    const policy = await this.o.policyOf(p.tenant);
    // Not claimed without the policy (this process's copy may not have heard of it yet): the page stays due, for
    // the next tick or another worker, instead of being consumed with nothing sent.
    if (!policy) return false;
    const minute = this.o.config.minuteMs;
    const level = p.route.escalate?.[p.level];
    const escalating = level !== undefined && now >= p.raisedAt + level.afterMinutes * minute;
    const next: Page = escalating ? { ...p, level: p.level + 1, lastSentAt: now } : { ...p, repeats: p.repeats + 1, lastSentAt: now };
    next.nextAt = nextDue(next, minute);
    if (!(await this.o.store.updatePage(next, s.revision))) {
      this.stats.lostClaims++;
      return false;
    }
    const targets = escalating ? level.targets : reachedTargets(p);
    const n = escalating ? { kind: 'escalation' as const, route: p.routeId, level: next.level } : { kind: 'repeat' as const, route: p.routeId, repeat: next.repeats };
    if (escalating) {
      this.stats.escalations++;
      notificationsEscalated.inc({ tenant: p.tenant });
    } else {
      this.stats.repeats++;
    }
    if (subject.kind === 'alert') this.o.router.deliver(policy, targets, subject.alert, n, now);
    else this.o.router.deliverIncident(policy, targets, subject.incident, n, now);
    return true;
  }

  /** The page's alert or incident as it is now; undefined when gone or of another tenant. */
  private async subjectOf(p: Page): Promise<{ kind: 'alert'; alert: Alert } | { kind: 'incident'; incident: Incident } | undefined> {
    if (p.subject === 'incident') {
      const got = this.o.incidents?.get(p.subjectId, p.tenant);
      const rec = got instanceof Promise ? await got : got;
      return rec && rec.incident.tenant === p.tenant ? { kind: 'incident', incident: rec.incident } : undefined;
    }
    const got = this.o.alerts.get(p.subjectId);
    const alert = got instanceof Promise ? await got : got;
    return alert && alert.tenant === p.tenant ? { kind: 'alert', alert } : undefined;
  }
}
