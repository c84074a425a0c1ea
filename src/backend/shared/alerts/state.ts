import type { AcceptedReport } from '../../../contract/types.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { KvConflictError, type KvEntry, type SharedKv, type SharedKvStore } from '../kv.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import { AlertNotFoundError, AlertTransitionError } from '../../../alerts/errors.ts';
import { alertIdOf, eventIdOf } from '../../../alerts/ids.ts';
import type { ReactionTimes } from '../../../alerts/reaction.ts';
import type { AlertCandidate } from '../../../alerts/rules.ts';
import {
  acknowledgeChange, alertFromSighting, assignChange, inDedupWindow, mergeSighting, resolveChange,
  type LifecycleAction, type LifecycleChange,
} from '../../../alerts/sighting.ts';
import type { AlertState, AppliedSightings } from '../../../alerts/state.ts';
import type { AlertListQuery, ReportCandidates } from '../../../alerts/state.ts';
import type { Alert, AlertEvent, AlertStatus } from '../../../alerts/types.ts';
import {
  PREVIOUS_ALERTS, RECENT_SIGHTINGS, alertKey, bucketName, decodeJson, dedupKey, encodeJson, type AlertRecord, type DedupEntry,
} from './keys.ts';
import { AlertWatch } from './watch.ts';
import { AlertView } from './view.ts';
import { MAX_PENDING_EVENTS, PendingEvents } from './pending.ts';

export interface KvAlertStateOptions {
  /** Where the buckets are (JetStream KV, or log-backed buckets on Kafka); the state closes it when it closes. */
  store: SharedKvStore;
  /** The tenant whose bucket this process reads (API) and whose alerts officers change through it. Default `default`. */
  tenant?: string;
  dedupWindowMs?: number;
  /**
   * How long an alert stays in the state after its last change (bucket TTL, and the view's memory). Older alerts live
   * on in the lake (`alerts`, `alert_events`). Default 8 days: the dashboard's reaction-time panel compares 7.
   */
  retentionMs?: number;
  /** How long the view may take to catch up with the bucket at start. Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Sightings of different (drone, citizen) pairs applied concurrently within a batch. Default 32. */
  concurrency?: number;
  now?: () => number;
  logger?: Logger;
}

/** One sighting of a batch, with where its events go in the batch's order. */
interface Sighting {
  report: AcceptedReport;
  candidate: AlertCandidate;
  position: { partition: number; offset: number } | undefined;
  index: number;
}

type Outcome = { event: AlertEvent } | { republish: AlertEvent } | undefined;

const MAX_CAS_ATTEMPTS = 50;
export const DEFAULT_STATE_RETENTION_MS = 8 * 24 * 3600_000;
const EVICT_EVERY_MS = 60_000;

/** After a lost compare-and-set: a short random pause, so writers racing on one key do not keep colliding in step. */
function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
}

/**
 * Alert state shared by every process of a distributed deployment, in a shared KV (layout: keys.ts; design and
 * guarantees: docs/alerts.md, "State in distributed mode"). Every change is a compare-and-set on the alert's key, so
 * a worker's sighting and an officer's acknowledgement never overwrite each other, whichever process makes them,
 * and a partition moving to another worker moves nothing: the alerts of its drones are already in the bucket.
 */
export class KvAlertState implements AlertState {
  readonly dedupWindowMs: number;
  /** Only officers' changes wait in their alerts' records (PendingEvents); a sighting's event is redelivered. */
  readonly outboxHoldsSightings = false;
  readonly tenant: string;
  private readonly buckets = new Map<string, Promise<SharedKv>>();
  private readonly view = new AlertView();
  private readonly pending = new PendingEvents();
  private readonly now: () => number;
  private readonly logger: Logger;
  private watch: AlertWatch | undefined;
  private evictTimer: NodeJS.Timeout | undefined;
  private closed = false;
  readonly retentionMs: number;

  private constructor(private readonly opts: KvAlertStateOptions) {
    this.tenant = opts.tenant ?? 'default';
    this.dedupWindowMs = opts.dedupWindowMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
    this.retentionMs = opts.retentionMs ?? DEFAULT_STATE_RETENTION_MS;
  }

  /** The buckets' store, which the incident state (src/backend/incidents.ts) shares; closed with this state. */
  get kvStore(): SharedKvStore {
    return this.opts.store;
  }

  /** Drops from the view the alerts the bucket's TTL has removed (or is about to). */
  evictExpired(): number {
    const n = this.view.evictBefore(this.now() - this.retentionMs);
    if (n > 0) this.pending.prune((id) => this.view.get(id) !== undefined);
    return n;
  }

  /** Opens (or creates) the tenant's bucket and waits until the local view holds every alert in it. */
  static async open(opts: KvAlertStateOptions): Promise<KvAlertState> {
    const state = new KvAlertState(opts);
    try {
      const kv = await state.bucket(state.tenant);
      state.watch = new AlertWatch(kv, (alertId, rec, rev) => {
        state.view.apply(alertId, rec?.alert ?? null, rev);
        state.pending.apply(alertId, rec?.pending, rev);
      }, state.logger);
      await state.watch.start(opts.requestTimeoutMs ?? 10_000);
      state.evictExpired();
      state.evictTimer = setInterval(() => state.evictExpired(), EVICT_EVERY_MS);
      state.evictTimer.unref();
      return state;
    } catch (e) {
      await state.close();
      throw e;
    }
  }

  /** Applies sightings in batch order per (drone, citizen); different pairs concurrently (they touch different keys). */
  async applySightings(batch: readonly ReportCandidates[]): Promise<AppliedSightings> {
    const groups = new Map<string, Sighting[]>();
    let n = 0;
    for (const { report, candidates, position } of batch) {
      for (const candidate of candidates) {
        const key = `${report.tenant}\0${dedupKey(report.droneId, candidate.citizen)}`;
        let g = groups.get(key);
        if (!g) groups.set(key, (g = []));
        g.push({ report, candidate, position, index: n++ });
      }
    }
    const outcomes: Outcome[] = new Array<Outcome>(n);
    const at = this.now();
    const queue = [...groups.values()];
    const runGroup = async (): Promise<void> => {
      for (let g = queue.pop(); g; g = queue.pop()) {
        for (const s of g) outcomes[s.index] = await this.applySighting(s, at);
      }
    };
    await Promise.all(Array.from({ length: Math.min(queue.length, this.opts.concurrency ?? 32) }, runGroup));
    const events: AlertEvent[] = [];
    const republish: AlertEvent[] = [];
    for (const o of outcomes) {
      if (!o) continue;
      if ('event' in o) events.push(o.event);
      else republish.push(o.republish);
    }
    return { events, republish };
  }

  private async applySighting(s: Sighting, at: number): Promise<Outcome> {
    const { report, candidate: c, position } = s;
    const kv = await this.bucket(report.tenant);
    const dk = dedupKey(report.droneId, c.citizen);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const idxEntry = await this.kvGet(kv, dk);
      const idx = idxEntry ? decodeJson<DedupEntry>(idxEntry.value) : undefined;
      const cur = idx ? await this.readRecord(kv, idx.alertId) : undefined;
      if (cur && alreadyApplied(cur.rec, report.reportId, position)) return this.replay(kv, cur.rec, idx?.previous ?? [], report, c);
      if (cur && inDedupWindow(cur.rec.alert, report.ts, this.dedupWindowMs)) {
        const alert = mergeSighting(cur.rec.alert, report, c, at);
        // `...cur.rec`: the record's pending lifecycle events stay until they are confirmed on the topic.
        const rec: AlertRecord = { ...cur.rec, alert, version: cur.rec.version + 1, seen: advance(cur.rec.seen, position), recent: remember(cur.rec.recent, report.reportId, 'u') };
        if (!(await this.cas(kv, alert.alertId, rec, cur.rev))) {
          await backoff(attempt);
          continue;
        }
        return { event: { eventId: eventIdOf(alert.alertId, 'updated', report.reportId), type: 'updated', at, by: null, alert } };
      }
      // A new alert. The index moves first: a crash between the two writes leaves it pointing at an alert that does
      // not exist yet, which the redelivered report then creates (the other order would let the redelivery update
      // the previous alert instead).
      const alert = alertFromSighting(report, c, at);
      if (!idx || idx.alertId !== alert.alertId) {
        const previous = idx ? [idx.alertId, ...(idx.previous ?? [])].slice(0, PREVIOUS_ALERTS) : [];
        const entry = encodeJson({ alertId: alert.alertId, previous });
        try {
          await (idxEntry ? kv.update(dk, entry, idxEntry.revision) : kv.create(dk, entry));
        } catch (e) {
          if (!(e instanceof KvConflictError)) throw e;
          await backoff(attempt);
          continue;
        }
      }
      const rec: AlertRecord = { alert, version: 1, seen: advance(null, position), recent: [[report.reportId, 'r']] };
      if (!(await this.cas(kv, alert.alertId, rec, 0))) {
        await backoff(attempt);
        continue;
      }
      return { event: { eventId: eventIdOf(alert.alertId, 'raised', report.reportId), type: 'raised', at, by: null, alert } };
    }
    throw new StreamUnavailableError(`alert state: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row on drone ${report.droneId}`, 'concurrent writers');
  }

  /**
   * The event an already applied sighting gave, with the alert's current state, for republishing under its original
   * id: found in the recent sightings of the (drone, citizen)'s current alert, else of the alerts it replaced, else
   * (a raise) by the alert id the sighting itself gives. Not found: the sighting is older than all that remembers,
   * far beyond any redelivery, and nothing is republished.
   */
  private async replay(kv: SharedKv, latest: AlertRecord, previous: readonly string[], report: AcceptedReport, c: AlertCandidate): Promise<Outcome> {
    const candidates = [latest];
    const own = alertIdOf(report.tenant, report.reportId, c.citizen);
    for (const id of previous.includes(own) ? previous : [...previous, own]) {
      if (id === latest.alert.alertId) continue;
      const rec = (await this.readRecord(kv, id))?.rec;
      if (rec) candidates.push(rec);
    }
    for (const rec of candidates) {
      const hit = rec.recent.find(([r]) => r === report.reportId);
      if (!hit && !(rec.alert.alertId === own)) continue;
      const type = !hit || hit[1] === 'r' ? 'raised' : 'updated';
      return { republish: { eventId: eventIdOf(rec.alert.alertId, type, report.reportId), type, at: rec.alert.updatedAt, by: null, alert: rec.alert } };
    }
    return undefined;
  }

  acknowledge(alertId: string, by: string, note?: string): Promise<AlertEvent> {
    return this.transition(alertId, 'acknowledge', acknowledgeChange(by, note), by);
  }

  assign(alertId: string, assignee: string, by: string): Promise<AlertEvent> {
    return this.transition(alertId, 'assign', assignChange(assignee), by);
  }

  resolve(alertId: string, by: string, note?: string): Promise<AlertEvent> {
    return this.transition(alertId, 'resolve', resolveChange(by, note), by);
  }

  /**
   * An officer's change, by compare-and-set: a sighting applied meanwhile makes it re-read and re-apply, not
   * overwrite. Its event is written in the same record (`pending`), so it reaches the topic even if this process
   * dies before publishing it: the caller publishes it and calls markPublished; otherwise a worker's drain does.
   */
  private async transition(alertId: string, action: LifecycleAction, change: LifecycleChange, by: string): Promise<AlertEvent> {
    const kv = await this.bucket(this.tenant);
    const at = this.now();
    const type = eventTypeOf(action);
    let written: { rec: AlertRecord; event: AlertEvent } | undefined;
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const cur = await this.readRecord(kv, alertId);
      if (!cur) throw new AlertNotFoundError(alertId);
      // Our previous attempt may have succeeded with its answer lost (timeout, failover): that is our change, not a rival's.
      // Whole-event comparison: a rival's change can have the same event id (same type, same version).
      if (written && (cur.rec.pending?.some((e) => JSON.stringify(e) === JSON.stringify(written!.event))
        || (cur.rec.version === written.rec.version && JSON.stringify(cur.rec.alert) === JSON.stringify(written.rec.alert)))) break;
      const next = change(cur.rec.alert, at);
      if (!next) throw new AlertTransitionError(alertId, cur.rec.alert.status, action);
      const alert = { ...next.alert, updatedAt: at };
      const version = cur.rec.version + 1;
      const event: AlertEvent = { eventId: eventIdOf(alertId, type, version), type, at, by, alert };
      const pending = [...(cur.rec.pending ?? []), event];
      if (pending.length > MAX_PENDING_EVENTS) {
        this.logger.warn({ alertId, dropped: pending[0]!.eventId }, 'alert state: too many unpublished lifecycle events on one alert (is an alert worker running?); the oldest is dropped');
        pending.shift();
      }
      written = { rec: { ...cur.rec, alert, version, pending }, event };
      if (await this.cas(kv, alertId, written.rec, cur.rev)) break;
      await backoff(attempt);
      if (attempt === MAX_CAS_ATTEMPTS - 1) throw new StreamUnavailableError(`alert ${alertId}: ${MAX_CAS_ATTEMPTS} compare-and-set conflicts in a row`, 'concurrent writers');
    }
    return written!.event;
  }

  /** Reads the bucket, not the view: a change must start from the latest revision. */
  async get(alertId: string): Promise<Alert | undefined> {
    const kv = await this.bucket(this.tenant);
    return (await this.readRecord(kv, alertId))?.rec.alert;
  }

  /** From the local view of the tenant's bucket (a change by another process shows up within the watch's latency). */
  list(q?: AlertListQuery): Alert[] {
    return this.view.list(q);
  }

  countByStatus(): Record<AlertStatus, number> {
    return this.view.countByStatus();
  }

  reactionTimes(from: number, to: number, opts?: { tenant?: string; maxSamples?: number }): ReactionTimes {
    return this.view.reactionTimes(from, to, opts);
  }

  /**
   * Lifecycle events still in their alerts' records (written by any process, seen through the watch), made at least
   * `olderThanMs` ago. Sightings' events are not here: a lost publish of those is repaired by redelivery
   * (AppliedSightings.republish).
   */
  pendingEvents(opts: { olderThanMs?: number; limit?: number } = {}): AlertEvent[] {
    return this.pending.list(this.now() - (opts.olderThanMs ?? 0), opts.limit ?? 1000);
  }

  /**
   * Removes published lifecycle events from their records (compare-and-set; other events untouched). A lost race is
   * retried; if it keeps failing the event stays and is published again later, which the topic's duplicate window
   * drops. Events that are not pending (sightings') cost nothing.
   */
  async markPublished(eventIds: readonly string[]): Promise<void> {
    const byAlert = new Map<string, Set<string>>();
    for (const id of eventIds) {
      const alertId = this.pending.alertOf(id);
      if (alertId === undefined) continue;
      let set = byAlert.get(alertId);
      if (!set) byAlert.set(alertId, (set = new Set()));
      set.add(id);
    }
    if (byAlert.size === 0) return;
    const kv = await this.bucket(this.tenant);
    for (const [alertId, ids] of byAlert) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const cur = await this.readRecord(kv, alertId);
        if (!cur || !cur.rec.pending?.some((e) => ids.has(e.eventId))) break;
        const left = cur.rec.pending.filter((e) => !ids.has(e.eventId));
        const { pending: _published, ...rest } = cur.rec;
        if (await this.cas(kv, alertId, left.length > 0 ? { ...rest, pending: left } : rest, cur.rev)) break;
        await backoff(attempt);
      }
    }
  }

  /** Nothing to forget: idempotency lives in each alert (AlertRecord.seen), not in a table. */
  prune(): number {
    return 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.evictTimer) clearInterval(this.evictTimer);
    this.watch?.stop();
    await this.opts.store.close();
  }

  private bucket(tenant: string): Promise<SharedKv> {
    let b = this.buckets.get(tenant);
    if (!b) {
      // Alerts (and dedup index entries) not changed for this long expire: the bucket stays bounded, the lake keeps all.
      b = this.opts.store.bucket(bucketName(tenant), { ttlMs: this.retentionMs });
      this.buckets.set(tenant, b);
      b.catch(() => this.buckets.delete(tenant));
    }
    return b;
  }

  private async kvGet(kv: SharedKv, key: string): Promise<KvEntry | undefined> {
    return (await kv.get(key)) ?? undefined;
  }

  private async readRecord(kv: SharedKv, alertId: string): Promise<{ rec: AlertRecord; rev: number } | undefined> {
    const e = await this.kvGet(kv, alertKey(alertId));
    return e ? { rec: decodeJson<AlertRecord>(e.value), rev: e.revision } : undefined;
  }

  /** Writes an alert if its key is still at `rev` (0: does not exist); false when another writer came first. */
  private async cas(kv: SharedKv, alertId: string, rec: AlertRecord, rev: number): Promise<boolean> {
    const key = alertKey(alertId);
    const value = encodeJson(rec);
    try {
      const written = await (rev === 0 ? kv.create(key, value) : kv.update(key, value, rev));
      if (rec.alert.tenant === this.tenant) {
        this.view.apply(alertId, rec.alert, written);
        this.pending.apply(alertId, rec.pending, written);
      }
      return true;
    } catch (e) {
      if (e instanceof KvConflictError) return false;
      throw e;
    }
  }
}

function eventTypeOf(action: LifecycleAction): 'acknowledged' | 'assigned' | 'resolved' {
  return action === 'acknowledge' ? 'acknowledged' : action === 'assign' ? 'assigned' : 'resolved';
}

function alreadyApplied(rec: AlertRecord, reportId: string, position: Sighting['position']): boolean {
  if (position && rec.seen && rec.seen.p === position.partition && rec.seen.o >= position.offset) return true;
  return rec.recent.some(([r]) => r === reportId);
}

function advance(seen: AlertRecord['seen'], position: Sighting['position']): AlertRecord['seen'] {
  if (!position) return seen;
  if (seen && seen.p === position.partition && seen.o >= position.offset) return seen;
  return { p: position.partition, o: position.offset };
}

function remember(recent: AlertRecord['recent'], reportId: string, kind: 'r' | 'u'): AlertRecord['recent'] {
  const next = recent.length >= RECENT_SIGHTINGS ? recent.slice(recent.length - RECENT_SIGHTINGS + 1) : recent.slice();
  next.push([reportId, kind]);
  return next;
}
