/**
 * Notification policies (issue 19, item 4): per tenant, which webhook targets hear of which alerts, and what happens
 * when nobody acknowledges one (repeat, escalate). Modelled on Alertmanager's routes/receivers/repeat_interval: an
 * ordered list of routes, the first that matches wins unless it says `continue`.
 */
import type { Severity } from '../alerts/types.ts';
import type { VersionMeta } from '../backend/versioned.ts';

/** A webhook receiver. The secret signs each body (HMAC-SHA256, `x-dronewatch-signature`), as `alerts.webhooks`. */
export interface NotifyTarget {
  /** Unique in the policy; what routes, the delivery log and the metrics name (never the URL: it may hold a token). */
  id: string;
  url: string;
  secret?: string;
  /** Per attempt. Default 2000 ms. */
  timeoutMs?: number;
}

/** Every listed field must match (absent: any); within a list, any value. */
export interface RouteMatch {
  severities?: Severity[];
  /** Zone ids of the tenant's rules in force: the alert's position is inside one of them. */
  zones?: string[];
  /** Rule ids (`alert.rule`). */
  rules?: string[];
}

export interface EscalationLevel {
  /** Minutes after the alert was raised; levels are in increasing order. */
  afterMinutes: number;
  targets: string[];
}

export interface NotifyRoute {
  id: string;
  match: RouteMatch;
  targets: string[];
  /** Sent again every this many minutes while the alert is open (not acknowledged nor resolved). Absent: once. */
  repeatMinutes?: number;
  /** Each level once, when the alert is still open that long after it was raised. */
  escalate?: EscalationLevel[];
  /** Go on with the next routes after this one matched (Alertmanager's `continue`). Default false: first match wins. */
  continue?: boolean;
  /**
   * What the route notifies: each `alert` (default), or each `incident` (alerts grouped by place and time, one
   * notification per gathering, escalated while the incident is not acknowledged). Incident routes match severities
   * and zones (the incident's centroid), not rules.
   */
  subject?: Subject;
}

export type Subject = 'alert' | 'incident';

export interface NotificationPolicy {
  targets: NotifyTarget[];
  routes: NotifyRoute[];
}

/**
 * One version of a tenant's policy, never changed once written. Version 0 is the configuration's `alerts.webhooks`
 * (every event to each, as before policies existed): it is not stored, it is what a tenant without versions gets.
 */
export interface PolicyVersion extends NotificationPolicy, VersionMeta {}

/** Why a notification was sent. */
export type NotificationKind = 'notify' | 'repeat' | 'escalation' | 'acknowledged' | 'resolved';

/**
 * The notification state of one alert under one route, in the store (never only in a timer): what survives a worker's
 * restart and what two workers claim with compare-and-set so that a repeat or an escalation is sent once.
 */
export interface Page {
  tenant: string;
  subject: Subject;
  /** The alert's or the incident's id. */
  subjectId: string;
  routeId: string;
  /** The route as it was when the alert was raised: a later policy change does not reschedule alerts in flight. */
  route: Pick<NotifyRoute, 'targets' | 'repeatMinutes' | 'escalate'>;
  /** Platform time the alert was raised or the incident opened (epoch ms): escalation deadlines count from it. */
  raisedAt: number;
  /** Escalation levels sent so far. */
  level: number;
  repeats: number;
  lastSentAt: number;
  /** When the escalator must look at it next (epoch ms); null: nothing scheduled (kept for the ack/resolve notice). */
  nextAt: number | null;
  /** Acknowledged or resolved: nothing more is sent (but the resolve notice after an acknowledged one). */
  done: boolean;
  /** What closed it; its notice went to the page's targets. */
  closed?: 'acknowledged' | 'resolved';
}

export type DeliveryStatus = 'delivered' | 'retrying' | 'failed' | 'dropped';

/** One attempt to deliver one notification: the delivery log. Alert ids only, never a citizen's name. */
export interface Delivery {
  id: string;
  tenant: string;
  /** ISO 8601. */
  at: string;
  /** The alert notified, or the incident. */
  alertId?: string;
  incidentId?: string;
  eventId: string;
  kind: NotificationKind | 'event';
  /** `default`: the configuration's `alerts.webhooks` (policy version 0). */
  route: string;
  target: string;
  attempt: number;
  status: DeliveryStatus;
  httpStatus?: number;
  error?: string;
}

export interface DeliveryQuery {
  tenant: string;
  alertId?: string;
  incidentId?: string;
  status?: DeliveryStatus;
  /** Epoch ms. */
  since?: number;
  limit?: number;
}
