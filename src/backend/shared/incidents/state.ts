import type { AlertEvent } from '../../../alerts/types.ts';
import type { GroupingConfig } from '../../../incidents/config.ts';
import { IncidentNotFoundError } from '../../../incidents/errors.ts';
import { IncidentFeed } from '../../../incidents/feed.ts';
import { eventOf, planAlert } from '../../../incidents/grouping.ts';
import { applyAction, type IncidentAction } from '../../../incidents/lifecycle.ts';
import { incidentReactionTimes } from '../../../incidents/reaction.ts';
import { groupable, type IncidentListener, type IncidentListQuery, type IncidentReactionTimes, type IncidentState } from '../../../incidents/state.ts';
import type { Incident, IncidentEvent, IncidentMember, IncidentRecord, TimelineEntry } from '../../../incidents/types.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import { KvConflictError, type KvFollowing, type SharedKv, type SharedKvStore } from '../kv.ts';
import { DEFAULT_PAGE_LIMITS, MEMBER_PAGE_PREFIX, membersOf, paginate, type PagedMembers, type PageLimits, type PageRef } from './pages.ts';
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
  /** When an incident's members move to pages of their own, and how big a page grows (pages.ts). */
  pageLimits?: PageLimits;
}

/**
 * What `i.<incidentId>` holds: the record and the change that wrote it (for other processes' live feeds). The members
 * are inline (`members`) or, for a large incident, in pages of their own keys (`pages`, pages.ts).
 */
interface StoredIncident {
  incident: Incident;
  members?: IncidentMember[];
  pages?: PageRef[];
  timeline: TimelineEntry[];
  version: number;
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
  private readonly pageLimits: PageLimits;
  /** Member pages seen in the bucket (followed) or written here, by key; pages no record lists are swept each minute. */
  private readonly pageCache = new Map<string, IncidentMember[]>();
  /** The pages each paged record of the view was read from: what the next write of that incident compares with. */
  private readonly pagedOf = new WeakMap<IncidentRecord, PagedMembers>();
  private unlistedAtSweep = new Set<string>();
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
    this.pageLimits = opts.pageLimits ?? DEFAULT_PAGE_LIMITS;
  }

  /** Opens the tenant's bucket and waits until the view holds every incident in it. */
  static async open(opts: KvIncidentStateOptions): Promise<KvIncidentState> {
    const kv = await opts.store.bucket(incidentBucketName(opts.tenant), { ttlMs: opts.retentionMs ?? 8 * 24 * 3600_000 });
    const s = new KvIncidentState(kv, opts);
    const deferred = new Map<string, { stored: StoredIncident; rev: number }>();
    s.following = await kv.follow((key, value, rev) => {
      // A page never changes, and this process's own writes come back here: neither is decoded twice.
      if (key.startsWith(MEMBER_PAGE_PREFIX)) {
        if (value === null) s.pageCache.delete(key);
        else if (!s.pageCache.has(key)) s.pageCache.set(key, JSON.parse(dec.decode(value)) as IncidentMember[]);
        return;
      }
      if (!key.startsWith(PREFIX)) return;
      const id = key.slice(PREFIX.length);
      if (value === null) {
        s.view.apply(id, null, rev);
        return;
      }
      if ((s.view.entry(id)?.rev ?? 0) >= rev) return;
      const stored = JSON.parse(dec.decode(value)) as StoredIncident;
      const rec = s.assemble(stored);
      if (rec) s.applyFollowed(id, stored, rec, rev);
      // The initial load may deliver a value before its pages (a log bucket replays its keys in first-write order):
      // assembled once the load is complete.
      else if (!s.ready) deferred.set(id, { stored, rev });
      // Later, a record's pages were written before it and came first; one missing was swept here meanwhile (read
      // from the bucket), or superseded and deleted already (a newer record follows).
      else void s.assembleReading(stored).then((r) => { if (r) s.applyFollowed(id, stored, r, rev); }, (err: unknown) => s.logger.warn({ err, incidentId: id }, 'incident state: a member page could not be read'));
    }, { timeoutMs: opts.requestTimeoutMs ?? 10_000, logger: s.logger, what: 'incident state' });
    for (const [id, { stored, rev }] of deferred) {
      const rec = s.assemble(stored) ?? await s.assembleReading(stored);
      if (rec) s.applyFollowed(id, stored, rec, rev);
      else s.logger.warn({ incidentId: id }, 'incident state: an incident lists a member page the bucket no longer holds (expired): left out');
    }
    s.ready = true;
    s.evictTimer = setInterval(() => {
      s.view.evictBefore(s.now() - s.retentionMs);
      s.sweepPages();
    }, 60_000);
    s.evictTimer.unref();
    return s;
  }

  private applyFollowed(id: string, stored: StoredIncident, rec: IncidentRecord, rev: number): void {
    const before = this.view.entry(id)?.rev ?? 0;
    this.view.apply(id, rec, rev);
    // Changes by other processes reach this one's live feed (its own were announced when written: the feed drops repeats).
    if (this.ready && rev > before) this.feed.publish(eventOf(stored.incident, stored.last.type, stored.version, stored.last.at, stored.last.by));
  }

  /** The record a stored value holds, its members read from the pages seen; undefined when one is not here. */
  private assemble(stored: StoredIncident): IncidentRecord | undefined {
    const { incident, timeline, version } = stored;
    if (!stored.pages) return { incident, members: stored.members ?? [], timeline, version };
    const pages: IncidentMember[][] = [];
    for (const ref of stored.pages) {
      const page = this.pageCache.get(ref.key);
      if (!page) return undefined;
      pages.push(page);
    }
    const paged = { refs: stored.pages, pages };
    const rec = { incident, members: membersOf(paged), timeline, version };
    this.pagedOf.set(rec, paged);
    return rec;
  }

  /**
   * As assemble, reading from the bucket the pages not seen here (a value read directly may be ahead of the copy).
   * Undefined when a page is gone: a later write superseded and deleted it, so the value read is no longer current.
   */
  private async assembleReading(stored: StoredIncident): Promise<IncidentRecord | undefined> {
    for (const ref of stored.pages ?? []) {
      if (this.pageCache.has(ref.key)) continue;
      const e = await this.kv.get(ref.key);
      if (!e) return undefined;
      this.pageCache.set(ref.key, JSON.parse(dec.decode(e.value)) as IncidentMember[]);
    }
    return this.assemble(stored);
  }

  /** An incident as the bucket holds it now, with its revision (the view's copy when it is that revision). */
  private async read(incidentId: string): Promise<{ rec: IncidentRecord; rev: number } | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cur = await this.kv.get(PREFIX + incidentId);
      if (!cur) return undefined;
      const entry = this.view.entry(incidentId);
      if (entry?.rev === cur.revision) return entry;
      const rec = await this.assembleReading(JSON.parse(dec.decode(cur.value)) as StoredIncident);
      if (rec) {
        this.view.apply(incidentId, rec, cur.revision);
        return { rec, rev: cur.revision };
      }
      // A page gone: superseded by a write since (the key moved on), or expired with the bucket's TTL (it did not).
      if ((await this.kv.get(PREFIX + incidentId))?.revision === cur.revision) return undefined;
      await backoff(attempt);
    }
    throw new StreamUnavailableError(`incident ${incidentId}: its member pages changed under ${MAX_ATTEMPTS} reads in a row`, 'concurrent writers');
  }

  /**
   * Forgets pages no record of the view lists at two sweeps in a row (superseded ones whose deletion was lost, a
   * crashed writer's): a page of a write in flight is listed by the next sweep.
   */
  private sweepPages(): void {
    const listed = new Set<string>();
    for (const { rec } of this.view.records()) for (const ref of this.pagedOf.get(rec)?.refs ?? []) listed.add(ref.key);
    const unlisted = new Set<string>();
    for (const key of this.pageCache.keys()) {
      if (listed.has(key)) continue;
      if (this.unlistedAtSweep.has(key)) this.pageCache.delete(key);
      else unlisted.add(key);
    }
    this.unlistedAtSweep = unlisted;
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
      // What each write was planned from: a later write of a merge must not land on a version that came meanwhile.
      const bases = plan.writes.map((w) => this.view.entry(w.incident.incidentId));
      let lost = false;
      for (let i = 0; i < plan.writes.length && !lost; i++) {
        lost = !(await this.cas(plan.writes[i]!, plan.events[i]!, bases[i]));
      }
      if (!lost) {
        for (const ev of plan.events) this.feed.publish(ev);
        return plan.events;
      }
      await backoff(attempt);
    }
    throw new StreamUnavailableError(`incident state: ${MAX_ATTEMPTS} compare-and-set conflicts in a row on alert ${e.alert.alertId}`, 'concurrent writers');
  }

  /**
   * Writes a record over `base`, the record it was made from and the revision that was read at (none: a new
   * incident), by compare-and-set; on a lost race, refreshes the view from the bucket. A large incident's changed
   * member pages are written first, under new keys; the record's compare-and-set commits them, and the pages it no
   * longer lists are deleted after. A write retried after a lost acknowledgement fails as a conflict with its own
   * first attempt: a value of this version listing every page written is this write, which succeeded. Otherwise a
   * failed write deletes the pages it wrote that the bucket's value does not list (a writer that came after it keeps
   * them by reference). A write that failed otherwise (a timeout) may still land: its pages stay.
   */
  private async cas(rec: IncidentRecord, event: IncidentEvent, base: { rec: IncidentRecord; rev: number } | undefined): Promise<boolean> {
    const id = rec.incident.incidentId;
    const key = PREFIX + id;
    if (rec.version !== 1 && base?.rec.version !== rec.version - 1) {
      await this.read(id);
      return false;
    }
    const now = this.now();
    const pag = paginate(id, base && this.pagedOf.get(base.rec), rec.members, this.pageLimits, now, now - this.retentionMs / 8);
    const created = await Promise.allSettled(pag.writes.map(async (w) => {
      await this.kv.create(w.key, enc.encode(JSON.stringify(w.members)));
      this.pageCache.set(w.key, w.members);
    }));
    const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) {
      await this.deletePages(pag.writes.filter((_, i) => created[i]!.status === 'fulfilled').map((w) => w.key));
      throw failed.reason;
    }
    const { incident, timeline, version } = rec;
    const last = { type: event.type, by: event.by, at: event.at };
    const stored: StoredIncident = pag.paged
      ? { incident, pages: pag.paged.refs, timeline, version, last }
      : { incident, members: rec.members, timeline, version, last };
    const value = enc.encode(JSON.stringify(stored));
    let written: number;
    try {
      written = await (rec.version === 1 ? this.kv.create(key, value) : this.kv.update(key, value, base!.rev));
    } catch (err) {
      if (!(err instanceof KvConflictError)) throw err;
      const cur = await this.kv.get(key);
      const there = cur ? JSON.parse(dec.decode(cur.value)) as StoredIncident : undefined;
      const listed = new Set((there?.pages ?? []).map((r) => r.key));
      // The value is this write (its version, listing every page it wrote: their tokens are its own): it landed and
      // only its acknowledgement was lost. (Inline, nothing tells it from another writer's: planned again.)
      if (cur && there?.version === version && pag.writes.length > 0 && pag.writes.every((w) => listed.has(w.key))) {
        written = cur.revision;
      } else {
        await this.deletePages(pag.writes.map((w) => w.key).filter((k) => !listed.has(k)));
        await this.read(id);
        return false;
      }
    }
    const committed: IncidentRecord = { incident, members: rec.members, timeline, version };
    if (pag.paged) this.pagedOf.set(committed, pag.paged);
    this.view.apply(id, committed, written);
    await this.deletePages(pag.superseded);
    return true;
  }

  /** Best effort: a page left behind is unlisted, forgotten by the sweep and by the bucket's TTL. */
  private async deletePages(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.pageCache.delete(k);
    await Promise.all(keys.map((k) => this.kv.delete(k).catch((err: unknown) => this.logger.warn({ err, key: k }, 'incident state: a member page could not be deleted'))));
  }

  /** Read from the bucket, not the view: the caller may have just changed it through another process. */
  async get(incidentId: string, tenant?: string): Promise<IncidentRecord | undefined> {
    if (tenant !== undefined && tenant !== this.tenant) return undefined;
    return (await this.read(incidentId))?.rec;
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
      const cur = await this.read(incidentId);
      if (!cur) throw new IncidentNotFoundError(incidentId);
      const { record, event } = applyAction(cur.rec, action, by, this.now());
      if (await this.cas(record, event, cur)) {
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
