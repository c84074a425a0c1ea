import Database from 'better-sqlite3';
import path from 'node:path';
import type { AlertEvent } from '../../../alerts/types.ts';
import type { GroupingConfig } from '../../../incidents/config.ts';
import { IncidentNotFoundError } from '../../../incidents/errors.ts';
import { IncidentFeed } from '../../../incidents/feed.ts';
import { cellOf, cellsAround } from '../../../incidents/geo.ts';
import { byAlertId, planAlert, type IncidentLookup } from '../../../incidents/grouping.ts';
import { incidentEventIdOf } from '../../../incidents/ids.ts';
import { applyAction, type IncidentAction } from '../../../incidents/lifecycle.ts';
import { incidentReactionTimes } from '../../../incidents/reaction.ts';
import { groupable, type IncidentListener, type IncidentListQuery, type IncidentReactionTimes, type IncidentState } from '../../../incidents/state.ts';
import type { Incident, IncidentEvent, IncidentMember, IncidentRecord } from '../../../incidents/types.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import { SCHEMA_SQL } from './schema.ts';
import { openWalDatabase } from '../open-db.ts';

export interface SqliteIncidentStoreOptions {
  /** `<dir>/incidents.db`: the directory of alerts.db. */
  dir: string;
  grouping: GroupingConfig;
  sync?: 'normal' | 'full';
  /** How often other processes' changes are looked for while someone subscribes. Default 250 ms. */
  pollMs?: number;
  now?: () => number;
  logger?: Logger;
}

interface Row { body: string; version: number }
interface VersionRow { id: string; version: number }
interface SeqRow { seq: number; body: string; last_event: string }

/** Incidents the grouping keeps decoded (see `known`): the busiest places' live incidents, not the whole history. */
const KNOWN_INCIDENTS = 1024;

/**
 * Incidents in SQLite (WAL, shared by the processes of one data directory like alerts.db). Grouping a batch is one
 * `BEGIN IMMEDIATE` transaction that reads the incidents near each alert through the grid-cell index and writes the
 * plan: two alert workers sharing the embedded log are serialised by it, and a crash leaves all of a batch or none.
 * Exactly once with alerts.db: the alert worker groups a batch's events right after alerts.db committed them and
 * before they leave alerts.db's outbox, and groups what it finds in that outbox first (AlertWorker), and grouping
 * an event twice changes nothing.
 */
export class SqliteIncidentStore implements IncidentState {
  readonly file: string;
  readonly grouping: GroupingConfig;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private readonly feed: IncidentFeed;
  private readonly st: ReturnType<typeof prepare>;
  private readonly pollMs: number;
  private poller: NodeJS.Timeout | undefined;
  private lastSeq: number;
  /**
   * The grouping's decoded incidents by id, each at the version it was read or written at: a lookup reads a row's
   * version from the index and decodes its body only when this has not got that version. A riot's incident grows to
   * thousands of members, and its whole body was decoded for every alert that joined it (3,000 alerts at one place:
   * a fifth of the grouping's time). A version is a row's content (every write moves it, here or in another process
   * sharing the file), and a record enters only once its transaction committed (`pending` until then), so a
   * rolled-back version is never taken for another writer's. The records are shared: grouping.ts never modifies one.
   */
  private readonly known = new Map<string, IncidentRecord>();
  /**
   * The running transaction's records by incident id, the latest it read or wrote of each: what a write's members are
   * compared with (only the members that changed are written), and what enters `known` once it commits.
   */
  private pending = new Map<string, IncidentRecord>();
  /** Records read from a body that still holds its members (written before they had rows): written whole next time. */
  private readonly membersInBody = new WeakSet<IncidentRecord>();

  constructor(opts: SqliteIncidentStoreOptions) {
    this.file = path.resolve(opts.dir, 'incidents.db');
    this.grouping = opts.grouping;
    this.now = opts.now ?? Date.now;
    this.feed = new IncidentFeed(opts.logger ?? silentLogger);
    this.pollMs = opts.pollMs ?? 250;
    this.db = openWalDatabase(this.file);
    this.db.pragma(`synchronous = ${opts.sync === 'full' ? 'FULL' : 'NORMAL'}`);
    this.db.exec(SCHEMA_SQL);
    this.st = prepare(this.db);
    this.reindexCells();
    this.lastSeq = this.st.maxSeq.get()!.s ?? 0;
  }

  /** The cells depend on the grouping radius: recomputed for live incidents when the configured radius changed. */
  private reindexCells(): void {
    const key = String(this.grouping.radiusM);
    const cur = this.db.prepare<[], { value: string }>("SELECT value FROM incident_settings WHERE name = 'radius'").get();
    if (cur?.value === key) return;
    this.db.transaction(() => {
      const rows = this.db.prepare<[], { incident_id: string; lat: number; lon: number }>(
        "SELECT incident_id, lat, lon FROM incidents WHERE status IN ('open', 'acknowledged')").all();
      const set = this.db.prepare('UPDATE incidents SET cell = ? WHERE incident_id = ?');
      for (const r of rows) set.run(cellOf(r.lat, r.lon, this.grouping.radiusM), r.incident_id);
      this.db.prepare("INSERT OR REPLACE INTO incident_settings (name, value) VALUES ('radius', ?)").run(key);
    }).immediate();
  }

  applyAlertEvents(events: readonly AlertEvent[]): IncidentEvent[] {
    const sightings = groupable(events);
    if (sightings.length === 0) return [];
    this.pending = new Map();
    const out = this.db.transaction(() => {
      const produced: IncidentEvent[] = [];
      const now = this.now();
      for (const e of sightings) {
        const plan = planAlert(this.lookup, e.alert, this.grouping, now);
        if (plan.writes.length === 0) continue;
        const survivor = plan.writes[0]!.incident.incidentId;
        for (let i = 0; i < plan.writes.length; i++) this.write(plan.writes[i]!, plan.events[i]!);
        // The alert and every alert of an absorbed incident now belong to the survivor.
        this.st.hold.run(e.alert.tenant, e.alert.alertId, survivor);
        for (const w of plan.writes) {
          if (w.incident.status !== 'merged') continue;
          for (const m of w.members) this.st.hold.run(e.alert.tenant, m.alertId, survivor);
        }
        produced.push(...plan.events);
      }
      return produced;
    }).immediate();
    this.remember(this.pending.values());
    for (const e of out) this.feed.publish(e);
    return out;
  }

  /** Records of a committed transaction into `known`, the oldest entries out past KNOWN_INCIDENTS. */
  private remember(records: Iterable<IncidentRecord>): void {
    for (const r of records) {
      const id = r.incident.incidentId;
      const cur = this.known.get(id);
      if (cur !== undefined && cur.version > r.version) continue;
      this.known.delete(id);
      this.known.set(id, r);
    }
    this.pending = new Map();
    for (const id of this.known.keys()) {
      if (this.known.size <= KNOWN_INCIDENTS) break;
      this.known.delete(id);
    }
  }

  /** The incident `id` at `version` (its row's, in this transaction): from `known`, else its body decoded. */
  private recordAt(id: string, version: number): IncidentRecord | undefined {
    const p = this.pending.get(id);
    if (p !== undefined && p.version === version) return p;
    const k = this.known.get(id);
    const rec = k !== undefined && k.version === version ? k : this.read(id);
    if (rec) this.pending.set(id, rec);
    return rec;
  }

  private readonly lookup: IncidentLookup = {
    holding: (tenant, alertId) => {
      const row = this.st.holding.get(tenant, alertId);
      return row && this.recordAt(row.id, row.version);
    },
    // Live incidents stay live until an officer resolves them, so the cells around a busy place fill with incidents
    // long inactive: the activity window is checked on the indexed columns, before any body is decoded (the alert
    // stage spent a third of its time in JSON.parse of incidents it then dropped).
    near: (tenant, lat, lon, active) => {
      const cells = cellsAround(lat, lon, this.grouping.radiusM);
      const sql = nearSql(cells.length, active !== undefined);
      const params = active ? [tenant, ...cells, active.lastAtFrom, active.firstAtTo] : [tenant, ...cells];
      const out: IncidentRecord[] = [];
      for (const r of this.cached(sql).all(...params) as VersionRow[]) {
        const rec = this.recordAt(r.id, r.version);
        if (rec) out.push(rec);
      }
      return out;
    },
  };

  private write(rec: IncidentRecord, event: IncidentEvent): void {
    const i = rec.incident;
    const seq = this.st.maxSeq.get()!.s ?? 0;
    const params = {
      id: i.incidentId, tenant: i.tenant, status: i.status, cell: cellOf(i.centroid.lat, i.centroid.lon, this.grouping.radiusM),
      lat: i.centroid.lat, lon: i.centroid.lon, first: i.firstAt, last: i.lastAt, opened: i.openedAt, version: rec.version,
      seq: seq + 1, event: JSON.stringify({ type: event.type, by: event.by, at: event.at }),
      body: JSON.stringify({ incident: rec.incident, timeline: rec.timeline, version: rec.version }),
    };
    this.writeMembers(rec);
    this.pending.set(i.incidentId, rec);
    if (rec.version === 1) {
      this.st.insert.run(params);
      return;
    }
    // Inside the transaction that read it, the row is still at version - 1; anything else is a bug, not a race.
    if (this.st.update.run({ ...params, prev: rec.version - 1 }).changes !== 1) throw new Error(`incident ${i.incidentId}: version moved under the transaction`);
  }

  /**
   * The members that changed since the version this transaction read (by reference: grouping.ts keeps every member it
   * does not change), or all of them for a new incident or one whose members were in its body: one row each, so an
   * alert joining a crowd of thousands writes one member, not the crowd.
   */
  private writeMembers(rec: IncidentRecord): void {
    const id = rec.incident.incidentId;
    const prev = this.pending.get(id);
    const stored = prev !== undefined && prev.version === rec.version - 1 && !this.membersInBody.has(prev) ? new Set(prev.members) : undefined;
    for (const m of rec.members) if (!stored?.has(m)) this.st.member.run(id, m.alertId, JSON.stringify(m));
  }

  /** The incident's record as stored: its body, and its members from their rows (or from the body, if written before). */
  private read(id: string): IncidentRecord | undefined {
    const row = this.st.get.get(id);
    if (!row) return undefined;
    const rec = JSON.parse(row.body) as IncidentRecord;
    if (Array.isArray(rec.members)) {
      this.membersInBody.add(rec);
      return rec;
    }
    rec.members = this.st.members.all(id).map((r) => JSON.parse(r.member) as IncidentMember);
    // In grouping.ts's order (UTF-16 code units), which SQLite's (UTF-8 bytes) can differ from.
    rec.members.sort(byAlertId);
    return rec;
  }

  get(incidentId: string, tenant?: string): IncidentRecord | undefined {
    const rec = this.read(incidentId);
    return rec && (tenant === undefined || rec.incident.tenant === tenant) ? rec : undefined;
  }

  list(q: IncidentListQuery = {}): Incident[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (q.tenant !== undefined) (where.push('tenant = ?'), params.push(q.tenant));
    if (q.status && q.status.length > 0) (where.push(`status IN (${q.status.map(() => '?').join(', ')})`), params.push(...q.status));
    if (q.since !== undefined) (where.push('last_at >= ?'), params.push(q.since));
    if (q.bbox) (where.push('lat BETWEEN ? AND ? AND lon BETWEEN ? AND ?'), params.push(q.bbox[0], q.bbox[2], q.bbox[1], q.bbox[3]));
    params.push(Math.max(1, Math.min(1000, Math.floor(q.limit ?? 100))));
    const sql = `SELECT body, version FROM incidents ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY last_at DESC, incident_id LIMIT ?`;
    return (this.cached(sql).all(...params) as Row[]).map((r) => incidentOf(r.body));
  }

  change(incidentId: string, action: IncidentAction, by: string, tenant?: string): IncidentEvent {
    this.pending = new Map();
    const event = this.db.transaction(() => {
      const rec = this.get(incidentId, tenant);
      if (!rec) throw new IncidentNotFoundError(incidentId);
      this.pending.set(incidentId, rec);
      const { record, event } = applyAction(rec, action, by, this.now());
      this.write(record, event);
      return event;
    }).immediate();
    this.remember(this.pending.values());
    this.feed.publish(event);
    return event;
  }

  reactionTimes(from: number, to: number, opts: { tenant?: string } = {}): IncidentReactionTimes {
    const rows = this.st.opened.all(from, to);
    return incidentReactionTimes(rows.map((r) => incidentOf(r.body)), from, to, opts.tenant);
  }

  subscribe(listener: IncidentListener): () => void {
    const off = this.feed.subscribe(listener);
    if (!this.poller) {
      this.lastSeq = this.st.maxSeq.get()!.s ?? 0;
      this.poller = setInterval(() => this.poll(), this.pollMs);
      this.poller.unref();
    }
    return () => {
      off();
      if (this.feed.size === 0 && this.poller) {
        clearInterval(this.poller);
        this.poller = undefined;
      }
    };
  }

  /** Changes written by other processes (an alert worker beside this API process): announced like local ones. */
  private poll(): void {
    if (!this.db.open) return;
    for (const r of this.st.since.all(this.lastSeq)) {
      this.lastSeq = r.seq;
      const rec = JSON.parse(r.body) as Pick<IncidentRecord, 'incident' | 'version'>;
      const ev = JSON.parse(r.last_event) as { type: IncidentEvent['type']; by: string | null; at: number };
      this.feed.publish({ eventId: eventIdFor(rec, ev.type), type: ev.type, at: ev.at, by: ev.by, incident: rec.incident });
    }
  }

  private readonly stmts = new Map<string, Database.Statement>();
  private cached(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      if (this.stmts.size < 128) this.stmts.set(sql, s);
    }
    return s;
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    if (this.db.open) this.db.close();
  }
}

/** The grouping's lookup: live incidents of a tenant in `cells` grid cells, within the activity window when `active`. */
export function nearSql(cells: number, active: boolean): string {
  return `SELECT incident_id AS id, version FROM incidents WHERE tenant = ? AND status IN ('open', 'acknowledged')
    AND cell IN (${new Array<string>(cells).fill('?').join(', ')})${active ? ' AND last_at >= ? AND first_at <= ?' : ''}`;
}

function eventIdFor(rec: Pick<IncidentRecord, 'incident' | 'version'>, type: IncidentEvent['type']): string {
  // The same id the writer gave the event (grouping.ts eventOf), so the feed drops it if it already announced it.
  return incidentEventIdOf(rec.incident.incidentId, type, rec.version);
}

/** The incident of a stored body (its members, in the body or not, unread). */
function incidentOf(body: string): Incident {
  return (JSON.parse(body) as Pick<IncidentRecord, 'incident'>).incident;
}

function prepare(db: Database.Database) {
  return {
    maxSeq: db.prepare<[], { s: number | null }>('SELECT max(seq) AS s FROM incidents'),
    get: db.prepare<[string], Row>('SELECT body, version FROM incidents WHERE incident_id = ?'),
    holding: db.prepare<[string, string], VersionRow>(
      `SELECT i.incident_id AS id, i.version FROM incident_alerts a JOIN incidents i ON i.incident_id = a.incident_id
       WHERE a.tenant = ? AND a.alert_id = ?`),
    hold: db.prepare('INSERT OR REPLACE INTO incident_alerts (tenant, alert_id, incident_id) VALUES (?, ?, ?)'),
    member: db.prepare('INSERT OR REPLACE INTO incident_members (incident_id, alert_id, member) VALUES (?, ?, ?)'),
    members: db.prepare<[string], { member: string }>('SELECT member FROM incident_members WHERE incident_id = ?'),
    insert: db.prepare(`INSERT INTO incidents (incident_id, tenant, status, cell, lat, lon, first_at, last_at, opened_at, version, seq, last_event, body)
      VALUES (@id, @tenant, @status, @cell, @lat, @lon, @first, @last, @opened, @version, @seq, @event, @body)`),
    update: db.prepare(`UPDATE incidents SET status = @status, cell = @cell, lat = @lat, lon = @lon, first_at = @first, last_at = @last,
      version = @version, seq = @seq, last_event = @event, body = @body WHERE incident_id = @id AND version = @prev`),
    opened: db.prepare<[number, number], Row>('SELECT body, version FROM incidents WHERE opened_at >= ? AND opened_at < ?'),
    since: db.prepare<[number], SeqRow>('SELECT seq, body, last_event FROM incidents WHERE seq > ? ORDER BY seq LIMIT 1000'),
  };
}
