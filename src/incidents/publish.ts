import type { AlertEvent } from '../alerts/types.ts';
import { incidentsRaised } from '../metrics/definitions.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../stream/topics.ts';
import type { OutgoingRecord, Stream } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { eventOf } from './grouping.ts';
import { groupable, type IncidentState } from './state.ts';
import type { IncidentEvent, IncidentRecord } from './types.ts';

const encoder = new TextEncoder();

/** Events kept for a later attempt after a failed publish; beyond this the oldest are dropped (with a warning). */
const MAX_RETRY = 10_000;

/** An incident event as an `incidents` topic record: keyed by incident (its events stay in order), de-duplicated by event id. */
export function incidentEventRecord(e: IncidentEvent): OutgoingRecord {
  return { key: e.incident.incidentId, id: e.eventId, value: encoder.encode(JSON.stringify(e)), headers: { type: e.type } };
}

export async function ensureIncidentsTopic(stream: Stream): Promise<void> {
  await stream.ensureTopic(TOPICS.incidents, DEFAULT_TOPIC_CONFIG.incidents);
}

/** Officers' changes: made by the API (any process), published here from the state's change feed. */
const LIFECYCLE: ReadonlySet<IncidentEvent['type']> = new Set(['acknowledged', 'assigned', 'resolved']);

/**
 * Puts incident events on the `incidents` topic (the archive writes them to the lake), for the alert worker:
 * - the grouping's events (opened, updated, merged) in the worker's batch tail, before the batch's alert events are
 *   published (so before they leave alerts.db's outbox) and before its offsets are committed;
 * - officers' changes (acknowledged, assigned, resolved), made by whichever API process, as the incident state's
 *   change feed reports them (`subscribe`): several alert workers each publish them, under the same deterministic
 *   ids, and the topic's duplicate window keeps one.
 * Event ids are deterministic (incident, type, version), so publishing an event again is harmless. A failed publish
 * keeps the events for `retry()` (the worker's housekeeping) instead of failing the batch: the alerts must not wait
 * for the lake's copy of the incidents.
 */
export class IncidentPublisher {
  private pending: IncidentEvent[] = [];
  private unsubscribe: (() => void) | undefined;
  private chain: Promise<void> = Promise.resolve();
  private topicReady: Promise<void> | undefined;
  errors = 0;
  published = 0;

  constructor(private readonly stream: Stream, private readonly logger: Logger = silentLogger) {}

  /** Follows officers' changes on the state (see the class comment); stop with close(). */
  follow(state: Pick<IncidentState, 'subscribe'>): void {
    this.unsubscribe ??= state.subscribe((e) => {
      if (LIFECYCLE.has(e.type)) void this.publish([e]);
    });
  }

  /** Counts the incidents opened (metric `incidentsRaised`, per tenant): called once with each grouping's events. */
  static countOpened(events: readonly IncidentEvent[]): void {
    for (const e of events) if (e.type === 'opened') incidentsRaised.inc({ tenant: e.incident.tenant });
  }

  /** Publishes (after whatever is waiting from a failed attempt); never rejects. Calls are chained, so order is kept. */
  publish(events: readonly IncidentEvent[]): Promise<void> {
    if (events.length === 0 && this.pending.length === 0) return this.chain;
    this.chain = this.chain.then(() => this.send(events));
    return this.chain;
  }

  /**
   * After a restart: the alerts still in alerts.db's outbox are of batches whose tail did not finish, so their incident
   * events may never have reached the topic, and grouping them again plans nothing (they are grouped already). This
   * publishes the current state of every incident holding one of them, as an event under the id its latest change
   * was (or would have been) published with: the topic's duplicate window drops those it has, and the lake gets the
   * rest. The intermediate versions of a lost batch are not recovered, only each incident's latest. Looks at the
   * 1,000 incidents most recently active since the oldest of those alerts, per tenant. Returns how many it published.
   */
  async republishHolding(state: Pick<IncidentState, 'list' | 'get'>, pending: readonly AlertEvent[]): Promise<number> {
    const byTenant = new Map<string, { since: number; ids: Set<string> }>();
    for (const e of groupable(pending)) {
      const t = byTenant.get(e.alert.tenant) ?? { since: Infinity, ids: new Set<string>() };
      t.since = Math.min(t.since, e.alert.lastSeenTs);
      t.ids.add(e.alert.alertId);
      byTenant.set(e.alert.tenant, t);
    }
    const out: IncidentEvent[] = [];
    for (const [tenant, { since, ids }] of byTenant) {
      for (const i of await state.list({ tenant, since, limit: 1000 })) {
        const rec = await state.get(i.incidentId, tenant);
        if (rec && rec.members.some((m) => ids.has(m.alertId))) out.push(latestEvent(rec));
      }
    }
    await this.publish(out);
    return out.length;
  }

  /** Publishes what a failed attempt left. */
  retry(): Promise<void> {
    return this.publish([]);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.chain;
  }

  private async send(events: readonly IncidentEvent[]): Promise<void> {
    const batch = this.pending.length === 0 ? events : [...this.pending, ...events];
    if (batch.length === 0) return;
    try {
      await (this.topicReady ??= ensureIncidentsTopic(this.stream));
      await this.stream.publish(TOPICS.incidents, batch.map(incidentEventRecord));
      this.pending = [];
      this.published += batch.length;
    } catch (err) {
      this.errors++;
      this.topicReady = undefined;
      this.pending = batch.length > MAX_RETRY ? batch.slice(batch.length - MAX_RETRY) : [...batch];
      if (batch.length > MAX_RETRY) this.logger.warn({ dropped: batch.length - MAX_RETRY }, 'incident events dropped: the incidents topic refused them too long');
      this.logger.error({ err, events: batch.length }, 'incident events publish failed; retried by the next batch or housekeeping');
    }
  }
}

/**
 * The event of a record's latest change, with the id it was published under (incident, type, version). The type is
 * read from the record: an officer's change leaves a timeline entry stamped with its updatedAt; otherwise version 1
 * is the opening, a merged-away incident's last change its merge, and anything else a grouping update.
 */
export function latestEvent(rec: IncidentRecord): IncidentEvent {
  const i = rec.incident;
  const last = rec.timeline[rec.timeline.length - 1];
  const officer = last && last.by !== null && last.at === i.updatedAt
    && (last.type === 'acknowledged' || last.type === 'assigned' || last.type === 'resolved') ? last : undefined;
  if (officer) return eventOf(i, officer.type as IncidentEvent['type'], rec.version, i.updatedAt, officer.by);
  return eventOf(i, rec.version === 1 ? 'opened' : i.status === 'merged' ? 'merged' : 'updated', rec.version, i.updatedAt);
}
