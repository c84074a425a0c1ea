import { randomUUID } from 'node:crypto';
import { TOPICS } from '../stream/topics.ts';
import type { StartPosition, Stream, StreamConsumer, StreamRecord } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { RateCounter } from './rate.ts';
import { scanReportFields, type ReportFields } from './scan.ts';
import { TrackSlab, type TrackRing } from './track-slab.ts';
import type { DronePosition, FleetStats, PositionsListener, SilentDrone, StatsListener, TrackPoint } from './types.ts';

export interface FleetTrackerOptions {
  stream: Stream;
  /** Only this tenant's reports (the platform's `tenant`); default all. */
  tenant?: string;
  /** Positions kept per drone (its recent track). Default 20. */
  trackLength?: number;
  /** Drones kept at most; past it the drone that reported least recently is forgotten. Default 100,000. */
  maxDrones?: number;
  /** A drone is silent after this long without a report (see `silent`). Default 5 min. */
  silentAfterMs?: number;
  /** On start, read the reports appended this long ago, so the map is full at once. Default 2 min; 0 = only new ones. */
  lookbackMs?: number;
  /** Changed positions are handed to listeners at most this often. Default 250 ms. */
  flushIntervalMs?: number;
  /** Stats (rate, silent drones, lag) are computed and handed to listeners this often. Default 1 s. */
  statsIntervalMs?: number;
  /** Longest-silent drones listed in the stats. Default 100. */
  maxSilentListed?: number;
  /** Consumer group; default `fleet-<random>` so every API process sees every report. */
  group?: string;
  now?: () => number;
  logger?: Logger;
}

/**
 * One drone: who it is, and its last `trackLength` positions in a ring in the slab (track-slab.ts). Its id is not kept
 * apart: it is the end of `key` (`<tenant>/<droneId>`, see droneIdOf), and `tenant` is the tracker's one copy of the
 * tenant's name, so a drone holds one string of its own instead of three (~7 MiB at the 100,000-drone cap).
 */
interface DroneTrack extends TrackRing {
  readonly key: string;
  readonly tenant: string;
  appendedAt: number;
}

const decoder = new TextDecoder();

/**
 * Live fleet state for the dashboard: the last position and recent track of every drone, the reports rate and the
 * silent drones. A consumer of the `reports` topic in its own group, like the alert feed of a `serve` process
 * (`streamAlertFeed`), random per process so that every API process sees every report. A restarted tracker starts
 * again from `lookbackMs` ago (its offsets are committed only to measure its lag). It is a view, not a store: the lake
 * keeps every position.
 *
 * Memory is bounded: `trackLength` positions per drone and `maxDrones` drones (least recently reporting dropped first).
 *
 * A drone is **silent** when its last report is more than `silentAfterMs` older than the newest report of the fleet
 * (report time: right for a replay at 60x, where report time runs ahead of the wall clock), or when nothing came from
 * it for `silentAfterMs` of wall-clock time (right when the whole fleet, or the stream, goes quiet).
 *
 * Reports older than a drone's newest known position (late, out of order) do not move it back: the live map shows
 * where drones are now.
 */
export class FleetTracker {
  readonly group: string;
  /** Whether the group is this process's own (the default, random): then it is transient. */
  private readonly ownGroup: boolean;
  private readonly opts: Required<Omit<FleetTrackerOptions, 'tenant' | 'group' | 'logger' | 'now' | 'stream'>>;
  private readonly stream: Stream;
  private readonly tenant: string | undefined;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Insertion order = order of last update: the first entry is the drone that reported least recently. */
  private readonly drones = new Map<string, DroneTrack>();
  private readonly slab: TrackSlab;
  private readonly dirty = new Set<string>();
  private readonly rate = new RateCounter(5);
  /** Reports rate per tenant: a force sees its own fleet's rate, not the platform's. */
  private readonly tenantRates = new Map<string, RateCounter>();
  /** One copy of each tenant's name, shared by its drones (each record decodes a new one). */
  private readonly tenantNames = new Map<string, string>();
  private readonly positionListeners = new Set<PositionsListener>();
  private readonly statsListeners = new Set<StatsListener>();
  private readonly abort = new AbortController();
  private consumer: StreamConsumer | undefined;
  private loop: Promise<void> | undefined;
  private timers: NodeJS.Timeout[] = [];
  private newestTs = 0;
  /** Newest append time read, and the wall-clock time the last record was read (see `rateAt`). */
  private newestAppendedAt = 0;
  private lastReadAt = Number.NEGATIVE_INFINITY;
  private read = 0;
  private skipped = 0;
  private lag = -1;
  private lagRefreshing = false;
  /** Highest offset read per partition since the last commit. */
  private readonly toCommit = new Map<number, number>();

  constructor(opts: FleetTrackerOptions) {
    this.stream = opts.stream;
    this.tenant = opts.tenant;
    this.logger = opts.logger ?? silentLogger;
    this.now = opts.now ?? Date.now;
    this.group = opts.group ?? `fleet-${randomUUID().slice(0, 8)}`;
    this.ownGroup = opts.group === undefined;
    this.opts = {
      trackLength: Math.max(1, Math.floor(opts.trackLength ?? 20)),
      maxDrones: Math.max(1, Math.floor(opts.maxDrones ?? 100_000)),
      silentAfterMs: opts.silentAfterMs ?? 5 * 60_000,
      lookbackMs: opts.lookbackMs ?? 2 * 60_000,
      flushIntervalMs: opts.flushIntervalMs ?? 250,
      statsIntervalMs: opts.statsIntervalMs ?? 1000,
      maxSilentListed: opts.maxSilentListed ?? 100,
    };
    this.slab = new TrackSlab(this.opts.trackLength);
  }

  /** Joins the group and starts reading; resolves once the consumer is in place. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const start: StartPosition = this.opts.lookbackMs > 0 ? { time: this.now() - this.opts.lookbackMs } : 'latest';
    // The default group is this process's own: it goes with the process (transient), never read again after.
    this.consumer = await this.stream.consumer({ topic: TOPICS.reports, group: this.group, start, transient: this.ownGroup });
    this.loop = this.run(this.consumer);
    this.timers.push(setInterval(() => this.flush(), this.opts.flushIntervalMs));
    this.timers.push(setInterval(() => this.tick(), this.opts.statsIntervalMs));
    for (const t of this.timers) t.unref();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.loop?.catch(() => undefined);
    await this.consumer?.close().catch(() => undefined);
    this.positionListeners.clear();
    this.statsListeners.clear();
  }

  private async run(consumer: StreamConsumer): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      let records: StreamRecord[];
      try {
        records = await consumer.poll({ maxRecords: 1000, waitMs: 200, signal });
      } catch (err) {
        if (signal.aborted) break;
        this.logger.error({ err }, 'fleet tracker poll failed');
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      // The map is flushed every flushIntervalMs: its parsing can wait for the next turn of the event loop, so the
      // alert worker, woken by the same commit, raises its alerts first.
      if (records.length > 0) await new Promise<void>((r) => setImmediate(r));
      for (const r of records) {
        this.apply(r);
        this.toCommit.set(r.partition, r.offset);
      }
    }
  }

  /** Applies one `reports` record. Public for tests and for feeding the tracker without a stream. */
  apply(r: Pick<StreamRecord, 'value' | 'timestamp'>): void {
    this.read++;
    this.rate.add(r.timestamp);
    if (r.timestamp > this.newestAppendedAt) this.newestAppendedAt = r.timestamp;
    this.lastReadAt = this.now();
    let rep: ReportFields | undefined = scanReportFields(r.value);
    if (rep === undefined) {
      try {
        rep = JSON.parse(decoder.decode(r.value)) as ReportFields;
      } catch {
        this.skipped++;
        return;
      }
      if (rep === null || typeof rep !== 'object') {
        this.skipped++;
        return;
      }
    }
    const { droneId, ts, position, tenant } = rep;
    const lat = position?.lat;
    const lon = position?.lon;
    if (typeof droneId !== 'string' || typeof ts !== 'number' || typeof lat !== 'number' || typeof lon !== 'number'
      || !(Math.abs(lat) <= 90 && Math.abs(lon) <= 180) || typeof tenant !== 'string' || (this.tenant !== undefined && tenant !== this.tenant)) {
      this.skipped++;
      return;
    }
    let rate = this.tenantRates.get(tenant);
    if (!rate) this.tenantRates.set(tenant, (rate = new RateCounter(5)));
    rate.add(r.timestamp);
    if (ts > this.newestTs) this.newestTs = ts;
    // Drone ids are unique within a tenant only.
    const key = trackKey(tenant, droneId);
    let d = this.drones.get(key);
    if (d) {
      if (ts <= this.slab.ts(d, d.head)) return;
      this.drones.delete(key);
    } else {
      if (this.drones.size >= this.opts.maxDrones) {
        const [oldest, gone] = this.drones.entries().next().value!;
        this.drones.delete(oldest);
        this.dirty.delete(oldest);
        this.slab.give(gone);
      }
      const { ints, origins, slot } = this.slab.take();
      d = { key, tenant: this.tenantName(tenant), ints, origins, slot, head: -1, count: 0, appendedAt: 0 };
    }
    this.drones.set(key, d);
    this.slab.push(d, lat, lon, ts);
    d.appendedAt = r.timestamp;
    this.dirty.add(key);
  }

  private tenantName(tenant: string): string {
    let name = this.tenantNames.get(tenant);
    if (name === undefined) this.tenantNames.set(tenant, (name = tenant));
    return name;
  }

  /** Every tracked drone's latest position (of one tenant when given). */
  positions(tenant?: string): DronePosition[] {
    const out: DronePosition[] = [];
    for (const d of this.drones.values()) if (tenant === undefined || d.tenant === tenant) out.push(this.latest(d));
    return out;
  }

  /** The drone's recent positions, oldest first; empty when the tracker has not seen it. */
  track(droneId: string, tenant?: string): TrackPoint[] {
    const d = this.drones.get(trackKey(tenant ?? this.tenant ?? 'default', droneId));
    if (!d) return [];
    const out: TrackPoint[] = [];
    const n = this.opts.trackLength;
    for (let k = d.count - 1; k >= 0; k--) {
      const i = (d.head - k + n) % n;
      out.push({ lat: this.slab.lat(d, i), lon: this.slab.lon(d, i), ts: this.slab.ts(d, i) });
    }
    return out;
  }

  /** Health of the fleet (of one tenant when given: its drones, its rate). */
  stats(tenant?: string): FleetStats {
    const now = this.now();
    const silent: SilentDrone[] = [];
    let drones = 0;
    for (const d of this.drones.values()) {
      if (tenant !== undefined && d.tenant !== tenant) continue;
      drones++;
      const lastTs = this.slab.ts(d, d.head);
      const silentForMs = Math.max(this.newestTs - lastTs, now - d.appendedAt);
      if (silentForMs > this.opts.silentAfterMs) {
        silent.push({ droneId: droneIdOf(d), lastTs, lastAppendedAt: d.appendedAt, silentForMs, lat: this.slab.lat(d, d.head), lon: this.slab.lon(d, d.head) });
      }
    }
    silent.sort((a, b) => b.silentForMs - a.silentForMs || (a.droneId < b.droneId ? -1 : 1));
    return {
      at: now,
      drones,
      reportsPerSecond: (tenant === undefined ? this.rate : this.tenantRates.get(tenant))?.perSecond(this.rateAt(now)) ?? 0,
      reportsRead: this.read,
      reportsSkipped: this.skipped,
      newestTs: this.newestTs,
      silentAfterMs: this.opts.silentAfterMs,
      silentCount: silent.length,
      silent: silent.slice(0, this.opts.maxSilentListed),
      lag: this.lag,
    };
  }

  /**
   * The end of the window the reports rate is measured over. Records are counted by append time: while the tracker is
   * reading but behind the stream (a busy process, the look-back window after a start), the seconds it has read are
   * seconds ago, and a window ending now would read 0 reports/s while ingestion runs at 1,000. So while records are
   * arriving (one read in the last 2 s), the window ends at the newest append time read; once nothing arrives, it
   * ends now and the rate falls to 0, as it should when the stream is quiet.
   */
  private rateAt(now: number): number {
    return now - this.lastReadAt < 2000 && this.newestAppendedAt > 0 ? Math.min(now, this.newestAppendedAt) : now;
  }

  /** Called with the drones whose position changed, at most every `flushIntervalMs`. Returns the unsubscribe function. */
  onPositions(listener: PositionsListener): () => void {
    this.positionListeners.add(listener);
    return () => this.positionListeners.delete(listener);
  }

  /** Called with fresh stats every `statsIntervalMs`. Returns the unsubscribe function. */
  onStats(listener: StatsListener): () => void {
    this.statsListeners.add(listener);
    return () => this.statsListeners.delete(listener);
  }

  /** Hands the changed positions to the listeners now (the timer calls it; tests may too). */
  flush(): void {
    if (this.dirty.size === 0) return;
    if (this.positionListeners.size === 0) {
      this.dirty.clear();
      return;
    }
    const changed: DronePosition[] = [];
    for (const id of this.dirty) {
      const d = this.drones.get(id);
      if (d) changed.push(this.latest(d));
    }
    this.dirty.clear();
    for (const l of this.positionListeners) {
      try {
        l(changed);
      } catch (err) {
        this.logger.warn({ err }, 'fleet positions listener threw');
      }
    }
  }

  private tick(): void {
    void this.refreshLag();
    if (this.statsListeners.size === 0) return;
    const s = this.stats();
    for (const l of this.statsListeners) {
      try {
        l(s);
      } catch (err) {
        this.logger.warn({ err }, 'fleet stats listener threw');
      }
    }
  }

  private latest(d: DroneTrack): DronePosition {
    const s = this.slab;
    return { tenant: d.tenant, droneId: droneIdOf(d), lat: s.lat(d, d.head), lon: s.lon(d, d.head), ts: s.ts(d, d.head), appendedAt: d.appendedAt };
  }

  /**
   * Commits what was read (once a second), only so that the group's lag means something on the health page: the
   * group is this process's own, and a restart starts a new one from `lookbackMs` ago, never from these offsets.
   */
  private async refreshLag(): Promise<void> {
    if (this.lagRefreshing || this.abort.signal.aborted) return;
    this.lagRefreshing = true;
    try {
      if (this.toCommit.size > 0 && this.consumer) {
        const positions = [...this.toCommit].map(([partition, offset]) => ({ partition, offset }));
        this.toCommit.clear();
        await this.consumer.commit(positions).catch((err: unknown) => this.logger.debug({ err }, 'fleet tracker commit refused'));
      }
      const parts = await this.stream.lag(TOPICS.reports, this.group);
      this.lag = parts.reduce((n, p) => n + p.lag, 0);
    } catch {
      // The stream is closing: keep the last figure.
    } finally {
      this.lagRefreshing = false;
    }
  }
}

function trackKey(tenant: string, droneId: string): string {
  return `${tenant}/${droneId}`;
}

function droneIdOf(d: DroneTrack): string {
  return d.key.slice(d.tenant.length + 1);
}
