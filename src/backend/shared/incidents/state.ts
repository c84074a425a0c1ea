import type { AlertEvent } from '../../../alerts/types.ts';
import type { GroupingConfig } from '../../../incidents/config.ts';
import { IncidentNotFoundError } from '../../../incidents/errors.ts';
import { IncidentFeed } from '../../../incidents/feed.ts';
import { eventOf, planAlert } from '../../../incidents/grouping.ts';
import { applyAction, type IncidentAction } from '../../../incidents/lifecycle.ts';
import { incidentReactionTimes } from '../../../incidents/reaction.ts';
import { groupable, type IncidentListener, type IncidentListQuery, type IncidentReactionTimes, type IncidentState } from '../../../incidents/state.ts';
import type { Incident, IncidentEvent, IncidentRecord } from '../../../incidents/types.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import { KvConflictError, type KvFollowing, type SharedKv, type SharedKvStore } from '../kv.ts';
import { IncidentView } from './view.ts';

export interface KvIncidentStateOptions {
  /** The alert state's store (same connection); the alert state closes it. */
  store: SharedKvStore;
  tenant: string;
  grouping: GroupingConfig;
  /** Incidents not changed for this long leave the bucket (TTL) and the view. Default 8 days, as alerts. */
  retentionMs?: number;
  requestTimeoutMs?: number;
  now?: () => number;
  logger?: Logger;
}

/** What `i.<incidentId>` holds: the record and the change that wrote it (for other processes' live feeds). */
interface StoredIncident extends IncidentRecord {
  last: { type: IncidentEvent['type']; by: string | null; at: number };
}

const PREFIX = 'i.';
const MAX_ATTEMPTS = 50;
const enc = new TextEncoder();
const dec = new TextDecoder();

export function incidentBucketName(tenant: string): string {
  return `dw_incidents_${tenant}`;
}

/**
 * Incidents of one tenant in a shared KV bucket (JetStream KV, or a log-backed bucket on Kafka), one key per incident
 * changed only by compare-and-set, so alert workers of several hosts and officers' changes never overwrite each other.
 * Each process follows the bucket into an IncidentView; the grouping plans against it and writes by compare-and-set,
 * and a lost race refreshes the key and plans again. A plan of several writes (a merge) is not atomic: a crash between
 * them leaves the survivor holding the absorbed incident's alerts while the absorbed one is still live, and the next
 * alert near either plans the same merge again (grouping is a union: repeating it is harmless).
 */
export class KvIncidentState implements IncidentState {
  readonly grouping: GroupingConfig;
  readonly tenant: string;
  private readonly view: IncidentView;
  private readonly feed: IncidentFeed;
  private readonly now: () => number;
  private readonly logger: Logger;
  private readonly retentionMs: number;
  private following: KvFollowing | undefined;
  private evictTimer: NodeJS.Timeout | undefined;
  private ready = false;

  private constructor(private readonly kv: SharedKv, opts: KvIncidentStateOptions) {
    this.tenant = opts.tenant;
    this.grouping = opts.grouping;
    this.view = new IncidentView(opts.grouping.radiusM);
    this.now = opts.now ?? Date.now;
    this.logger = opts.logger ?? silentLogger;
    this.feed = new IncidentFeed(this.logger);
    this.retentionMs = opts.retentionMs ?? 8 * 24 * 3600_000;
  }

  /** Opens the tenant's bucket and waits until the view holds every incident in it. */
  static async open(opts: KvIncidentStateOptions): Promise<KvIncidentState> {
    const kv = await opts.store.bucket(incidentBucketName(opts.tenant), { ttlMs: opts.retentionMs ?? 8 * 24 * 3600_000 });
    const s = new KvIncidentState(kv, opts);
    s.following = await kv.follow((key, value, rev) => {
      if (!key.startsWith(PREFIX)) return;
      const id = key.slice(PREFIX.length);
      const stored = value === null ? null : JSON.parse(dec.decode(value)) as StoredIncident;
      const before = s.view.entry(id)?.rev ?? 0;
      s.view.apply(id, stored, rev);
      // Changes by other processes reach this one's live feed (its own were announced when written: the feed drops repeats).
      if (s.ready && stored && rev > before) s.feed.publish(eventOf(stored.incident, stored.last.type, stored.version, stored.last.at, stored.last.by));
    }, { timeoutMs: opts.requestTimeoutMs ?? 10_000, logger: s.logger, what: 'incident state' });
    s.ready = true;
    s.evictTimer = setInterval(() => s.view.evictBefore(s.now() - s.retentionMs), 60_000);
    s.evictTimer.unref();
    return s;
  }

  async applyAlertEvents(events: readonly AlertEvent[]): Promise<IncidentEvent[]> {
    const out: IncidentEvent[] = [];
    for (const e of groupable(events)) {
      if (e.alert.tenant !== this.tenant) continue;
      out.push(...await this.applyOne(e));
    }
    return out;
  }

  private async applyOne(e: AlertEvent): Promise<IncidentEvent[]> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const plan = planAlert(this.view, e.alert, this.grouping, this.now());
      let lost = false;
      for (let i = 0; i < plan.writes.length && !lost; i++) {
        lost = !(await this.cas(plan.writes[i]!, plan.events[i]!));
      }
      if (!lost) {
        for (const ev of plan.events) this.feed.publish(ev);
        return plan.events;
      }
      await backoff(attempt);
    }
    throw new StreamUnavailableError(`incident state: ${MAX_ATTEMPTS} compare-and-set conflicts in a row on alert ${e.alert.alertId}`, 'concurrent writers');
  }

  /** Writes a record if its key is where the view had it; on a lost race, refreshes the view from the bucket. */
  private async cas(rec: IncidentRecord, event: IncidentEvent): Promise<boolean> {
    const id = rec.incident.incidentId;
    const key = PREFIX + id;
    const stored: StoredIncident = { ...rec, last: { type: event.type, by: event.by, at: event.at } };
    const value = enc.encode(JSON.stringify(stored));
    const rev = rec.version === 1 ? 0 : this.view.entry(id)?.rev ?? 0;
    try {
      const written = await (rev === 0 ? this.kv.create(key, value) : this.kv.update(key, value, rev));
      this.view.apply(id, stored, written);
      return true;
    } catch (err) {
      if (!(err instanceof KvConflictError)) throw err;
      const cur = await this.kv.get(key);
      if (cur) this.view.apply(id, JSON.parse(dec.decode(cur.value)) as StoredIncident, cur.revision);
      return false;
    }
  }

  /** Read from the bucket, not the view: the caller may have just changed it through another process. */
  async get(incidentId: string, tenant?: string): Promise<IncidentRecord | undefined> {
    if (tenant !== undefined && tenant !== this.tenant) return undefined;
    const cur = await this.kv.get(PREFIX + incidentId);
    if (!cur) return undefined;
    const { last: _last, ...rec } = JSON.parse(dec.decode(cur.value)) as StoredIncident;
    return rec;
  }

  list(q: IncidentListQuery = {}): Incident[] {
    if (q.tenant !== undefined && q.tenant !== this.tenant) return [];
    const limit = Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100)));
    const out: Incident[] = [];
    for (const { rec } of this.view.records()) {
      const i = rec.incident;
      if (q.status && q.status.length > 0 && !q.status.includes(i.status)) continue;
      if (q.since !== undefined && i.lastAt < q.since) continue;
      if (q.bbox && !(i.centroid.lat >= q.bbox[0] && i.centroid.lat <= q.bbox[2] && i.centroid.lon >= q.bbox[1] && i.centroid.lon <= q.bbox[3])) continue;
      out.push(i);
    }
    out.sort((a, b) => b.lastAt - a.lastAt || (a.incidentId < b.incidentId ? -1 : 1));
    return out.slice(0, limit);
  }

  async change(incidentId: string, action: IncidentAction, by: string, tenant?: string): Promise<IncidentEvent> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (tenant !== undefined && tenant !== this.tenant) throw new IncidentNotFoundError(incidentId);
      const cur = await this.kv.get(PREFIX + incidentId);
      if (!cur) throw new IncidentNotFoundError(incidentId);
      const rec = JSON.parse(dec.decode(cur.value)) as StoredIncident;
      this.view.apply(incidentId, rec, cur.revision);
      const { record, event } = applyAction(rec, action, by, this.now());
      if (await this.cas(record, event)) {
        this.feed.publish(event);
        return event;
      }
      await backoff(attempt);
    }
    throw new StreamUnavailableError(`incident ${incidentId}: ${MAX_ATTEMPTS} compare-and-set conflicts in a row`, 'concurrent writers');
  }

  reactionTimes(from: number, to: number, opts: { tenant?: string } = {}): IncidentReactionTimes {
    const all = [...this.view.records()].map((e) => e.rec.incident);
    return incidentReactionTimes(all, from, to, opts.tenant);
  }

  subscribe(listener: IncidentListener): () => void {
    return this.feed.subscribe(listener);
  }

  close(): void {
    if (this.evictTimer) clearInterval(this.evictTimer);
    this.following?.stop();
  }
}

function backoff(attempt: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * (attempt + 1))));
}
