import { isDwError } from '../errors/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../stream/topics.ts';
import type { Stream, StreamConsumer, StreamRecord } from '../stream/types.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { recordAlertEvents } from '../metrics/record.ts';
import type { AlertBus } from './bus.ts';
import { BatchTail, type TailWork } from './batch-tail.ts';
import { drainOutbox, ensureAlertsTopic, publishAlertEvents } from './publish.ts';
import { cannotAlert, parseReport } from './report-scan.ts';
import { compileRules, evaluateReport, type AlertsConfig, type CompiledRules, type RuleSource } from './rules.ts';
import type { ReportCandidates } from './state.ts';
import type { AlertState, AppliedSightings } from './state.ts';
import type { AlertEvent } from './types.ts';
import type { WebhookSink } from './webhooks.ts';
import type { IncidentState } from '../incidents/state.ts';
import { IncidentPublisher } from '../incidents/publish.ts';
import type { IncidentEvent } from '../incidents/types.ts';

export interface AlertWorkerOptions {
  stream: Stream;
  /** The SQLite AlertStore (embedded) or the JetStream KV state shared by every worker (distributed, src/backend/nats/alerts/). */
  store: AlertState;
  /** The `alerts` config section. The dedup window is the store's (open it with `dedupWindowMs` from the same config). */
  config: Pick<AlertsConfig, 'threshold' | 'criticalThreshold' | 'wordRules'> & { dedupWindowMs?: number };
  /** Only reports of this tenant; others are skipped (and committed). Default: every tenant. */
  tenant?: string;
  /** Consumer group on the `reports` topic. Default `alerts`. */
  group?: string;
  bus: AlertBus;
  /** Where events become notifications: src/notify/'s router (policies per tenant), or a bare WebhookSink. */
  webhooks?: Pick<WebhookSink, 'send'>;
  /**
   * Rules as data (src/rules/RuleBook: per tenant, versioned, followed while running). Absent: `config`'s rules,
   * compiled once at start.
   */
  rules?: RuleSource;
  /**
   * Groups each batch's alerts into incidents (src/incidents/), after the alerts are announced and before the batch's
   * offsets are committed or its events leave the outbox: what makes incidents exactly once with alerts.
   */
  incidents?: IncidentState;
  logger?: Logger;
  /** Records per poll. Default 1000. */
  maxRecords?: number;
  /** Poll wait when the topic is idle. Default 100 ms. */
  waitMs?: number;
  sessionTimeoutMs?: number;
  memberId?: string;
  /** Called after each batch's store transaction committed, before anything else (tests inject crashes here). */
  onBatchStored?: (info: { batch: number; events: readonly AlertEvent[] }) => void | Promise<void>;
}

export interface AlertWorkerStats {
  reportsProcessed: number;
  /** Reports of another tenant, or not parseable as reports (see `malformed`). */
  reportsSkipped: number;
  malformed: number;
  alertsRaised: number;
  alertsUpdated: number;
  eventsPublished: number;
  /**
   * Events published late: found in the SQLite outbox (left by a crash or a failed publish), or, with the KV state,
   * events of redelivered sightings that were already applied (republished under their original ids).
   */
  outboxRepublished: number;
  batches: number;
  /** Append time of the oldest alerting report of the last alerting batch -> its events on the bus, ms. */
  lastLatencyMs: number;
  maxLatencyMs: number;
  pollErrors: number;
  publishErrors: number;
  commitErrors: number;
  /** Incident changes the grouping made (opened, updated, merged). */
  incidentEvents: number;
}

/** Batches whose topic publishes and offset commit may wait behind the one running before the poll loop waits (BatchTail). */
const MAX_WAITING_BATCHES = 32;
const OUTBOX_CHECK_MS = 1000;
/** Outbox events younger than this may still be in their publisher's hands (an API process): leave them be. */
const OUTBOX_GRACE_MS = 2000;
const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * Stream consumer 1: turns reports into alerts.
 *
 * Per poll batch: evaluate the rules (pure, no I/O) -> apply every sighting to the store in ONE SQLite transaction
 * (events go to the store's outbox in the same transaction) -> emit the events on the bus and hand them to the
 * webhooks -> publish them on the `alerts` topic -> commit the stream offsets.
 *
 * Why the bus comes after the store commit but before the topic publish and the offset commit: emitting before the
 * commit could announce an alert that a crash then loses; the commit is a synchronous local SQLite write (a fraction
 * of a millisecond), so waiting for it costs little, whereas the topic publish and the offset commit are durable
 * stream writes we keep off the latency path (they overlap the next batch). A crash after the store commit is safe: the reports are
 * redelivered (offsets not committed) but the store recognises them (nothing changes, no new event), and the events
 * still in the outbox are published by the next drain.
 *
 * With the JetStream KV state (distributed mode) the store step is a few KV compare-and-sets instead of a local
 * transaction, awaited before the bus for the same reason; there is no outbox: a redelivered sighting found already
 * applied gives its event back for republishing (docs/alerts.md, "State in distributed mode").
 */
export class AlertWorker {
  private readonly opts: AlertWorkerOptions;
  private readonly rules: CompiledRules;
  private readonly logger: Logger;
  private readonly s: AlertWorkerStats = {
    reportsProcessed: 0, reportsSkipped: 0, malformed: 0, alertsRaised: 0, alertsUpdated: 0, eventsPublished: 0,
    outboxRepublished: 0, batches: 0, lastLatencyMs: 0, maxLatencyMs: 0, pollErrors: 0, publishErrors: 0, commitErrors: 0,
    incidentEvents: 0,
  };
  private consumer: StreamConsumer | undefined;
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private lastOutboxCheck = 0;
  private lastPrune = 0;
  /** Topic publishes + offset commit of the processed batches, coalesced (see processBatch). */
  private tail: BatchTail | undefined;
  /** Incident events to the `incidents` topic (the lake's copy), when grouping is on. */
  private readonly incidentTopic: IncidentPublisher | undefined;

  constructor(opts: AlertWorkerOptions) {
    this.opts = opts;
    this.rules = compileRules(opts.config);
    this.logger = opts.logger ?? silentLogger;
    this.incidentTopic = opts.incidents ? new IncidentPublisher(opts.stream, this.logger) : undefined;
    const w = opts.config.dedupWindowMs;
    if (w !== undefined && w !== opts.store.dedupWindowMs) {
      this.logger.warn({ config: w, store: opts.store.dedupWindowMs }, 'alerts.dedupWindowMs differs from the store\'s; the store\'s applies');
    }
  }

  /** Joins the consumer group, publishes what a previous run left in the outbox, and starts consuming. */
  async start(): Promise<void> {
    if (this.loop) return;
    const { stream, store } = this.opts;
    await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
    await ensureAlertsTopic(stream);
    this.consumer = await stream.consumer({
      topic: TOPICS.reports,
      group: this.opts.group ?? 'alerts',
      start: 'earliest',
      ...(this.opts.sessionTimeoutMs === undefined ? {} : { sessionTimeoutMs: this.opts.sessionTimeoutMs }),
      ...(this.opts.memberId === undefined ? {} : { memberId: this.opts.memberId }),
    });
    if (this.opts.incidents) this.incidentTopic?.follow(this.opts.incidents);
    await this.groupPending();
    this.s.outboxRepublished += await drainOutbox(stream, store);
    this.lastOutboxCheck = this.lastPrune = Date.now();
    this.abort = new AbortController();
    this.loop = this.run(this.consumer, this.abort.signal);
  }

  /** Finishes the batch in hand (store, bus, topic, commit), then leaves the group. */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.abort!.abort();
    await this.loop;
    this.loop = undefined;
    this.tail = undefined;
    await this.incidentTopic?.close();
    await this.consumer?.close().catch((err: unknown) => this.logger.warn({ err }, 'alert consumer close failed'));
    this.consumer = undefined;
  }

  stats(): AlertWorkerStats {
    return { ...this.s };
  }

  get running(): boolean {
    return this.loop !== undefined;
  }

  private async run(consumer: StreamConsumer, signal: AbortSignal): Promise<void> {
    const maxRecords = this.opts.maxRecords ?? 1000;
    const waitMs = this.opts.waitMs ?? 100;
    while (!signal.aborted) {
      let records: StreamRecord[];
      try {
        records = await consumer.poll({ maxRecords, waitMs, signal });
      } catch (err) {
        if (signal.aborted) break;
        this.s.pollErrors++;
        if (isDwError(err) && err.code === 'DW_STREAM_CLOSED') {
          this.logger.error({ err }, 'stream closed: alert worker stops');
          break;
        }
        this.logger.error({ err }, 'alert poll failed');
        await sleep(200);
        continue;
      }
      try {
        if (records.length > 0) await this.processBatch(consumer, records);
      } catch (err) {
        // A store failure (disk full, lock timeout): offsets are not committed; rewind so the batch comes back.
        this.logger.error({ err }, 'alert batch failed; it will be retried');
        await this.rewind(consumer, records);
        await sleep(200);
      }
      await this.housekeeping();
    }
    await this.tail?.idle();
  }

  private async processBatch(consumer: StreamConsumer, records: StreamRecord[]): Promise<void> {
    const { store, bus, webhooks, tenant } = this.opts;
    let batch: ReportCandidates[] | undefined;
    let oldestAppend = Infinity;
    /** Append time of each report that may alert: the alert latency metric is measured from it. */
    const appendedAt = new Map<string, number>();
    // Most reports cannot alert (every citizen at or above every rule's threshold): a scan of their bytes says so
    // without parsing them, which is most of this loop's cost. With a tenant filter every report is parsed.
    const skipBelow = tenant === undefined ? (this.opts.rules?.maxThreshold() ?? this.rules.maxThreshold) : undefined;
    for (let i = 0; i < records.length; i++) {
      const rec = records[i]!;
      if (skipBelow !== undefined && cannotAlert(rec.value, skipBelow)) {
        this.s.reportsProcessed++;
        continue;
      }
      const report = parseReport(rec.value);
      if (!report) {
        this.s.malformed++;
        this.s.reportsSkipped++;
        this.logger.warn({ partition: rec.partition, offset: rec.offset }, 'not a report, skipped');
        continue;
      }
      if (tenant !== undefined && report.tenant !== tenant) {
        this.s.reportsSkipped++;
        continue;
      }
      this.s.reportsProcessed++;
      const candidates = this.opts.rules ? this.opts.rules.evaluate(report) : evaluateReport(report, this.rules);
      if (candidates.length === 0) continue;
      (batch ??= []).push({ report, candidates, position: { partition: rec.partition, offset: rec.offset } });
      appendedAt.set(report.reportId, rec.timestamp);
      if (rec.timestamp < oldestAppend) oldestAppend = rec.timestamp;
    }
    this.s.batches++;

    let events: readonly AlertEvent[] = [];
    let republish: readonly AlertEvent[] = [];
    let incidentEvents: readonly IncidentEvent[] = [];
    if (batch) {
      // SQLite answers synchronously: no await (and no extra microtask) on the embedded latency path.
      const pending = store.applySightings(batch);
      const applied: AppliedSightings = pending instanceof Promise ? await pending : pending;
      events = applied.events;
      republish = applied.republish;
      const hook = this.opts.onBatchStored?.({ batch: this.s.batches, events });
      if (hook instanceof Promise) await hook;
      for (const e of events) {
        if (e.type === 'raised') this.s.alertsRaised++;
        else this.s.alertsUpdated++;
        bus.publish(e);
        webhooks?.send(e);
      }
      const now = Date.now();
      recordAlertEvents(events, appendedAt, now);
      const latency = now - oldestAppend;
      this.s.lastLatencyMs = latency;
      if (latency > this.s.maxLatencyMs) this.s.maxLatencyMs = latency;
      // Republished events too: a crash may have come between the KV alert state's change and the incidents'.
      const incidents = this.opts.incidents;
      if (incidents && (events.length > 0 || republish.length > 0)) {
        const grouped = incidents.applyAlertEvents(unsilenced(republish.length === 0 ? events : [...republish, ...events]));
        incidentEvents = grouped instanceof Promise ? await grouped : grouped;
        this.s.incidentEvents += incidentEvents.length;
        IncidentPublisher.countOpened(incidentEvents);
      }
    }

    // The topic publishes and the offset commit of this batch run while the next batches are polled and announced:
    // they are not on the latency path. BatchTail coalesces them (one publish per topic and one commit for the
    // batches processed meanwhile), in order, and makes this wait only when many batches are queued.
    const toPublish = republish.length === 0 ? events : [...republish, ...events];
    this.s.outboxRepublished += republish.length;
    this.tail ??= new BatchTail((work) => this.publishAndCommit(consumer, work), MAX_WAITING_BATCHES);
    const full = this.tail.add(toPublish, incidentEvents, records);
    if (full) await full;
  }

  /** Never rejects: an unpublished event stays in the outbox (housekeeping publishes it), a refused commit is redelivered. */
  private async publishAndCommit(consumer: StreamConsumer, work: TailWork): Promise<void> {
    // The incident events go out beside the alert events, and before those leave the outbox (IncidentPublisher).
    const incidentsOut = this.incidentTopic?.publish(work.incidentEvents);
    const published = work.events.length === 0 || await this.publishEvents(work.events, incidentsOut);
    // Settled already when the alert events went out (publishAlertEvents waits for it), not when their publish failed
    // or there were none: the commit must follow it either way. It never rejects (IncidentPublisher.publish).
    await incidentsOut;
    // Stopping with events neither published nor in an outbox: their reports stay uncommitted, so the next owner of
    // the partitions reads them again and the state gives their events back (AppliedSightings.republish).
    if (!published) return;
    try {
      await consumer.commit(work.positions);
    } catch (err) {
      // Typically DW_STREAM_NOT_OWNER after a rebalance: the new owner re-reads these records, and the store makes that harmless.
      this.s.commitErrors++;
      this.logger.warn({ err }, 'offset commit refused');
    }
  }

  /**
   * Publishes a flush's events on the `alerts` topic. With an outbox that holds them (SQLite), a failure leaves them
   * there for the next drain and the offsets may be committed. Without one (the KV state), committing would lose
   * them from the topic (the lake's copy, the other processes' live feeds): the publish is retried until it goes
   * out, the batches behind it waiting (BatchTail), or until the worker stops (false: do not commit).
   */
  private async publishEvents(events: readonly AlertEvent[], incidentsOut: Promise<void> | undefined): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await publishAlertEvents(this.opts.stream, this.opts.store, events, incidentsOut);
        this.s.eventsPublished += events.length;
        return true;
      } catch (err) {
        this.s.publishErrors++;
        if (this.opts.store.outboxHoldsSightings) {
          this.logger.error({ err, events: events.length }, 'alert events publish failed; left in the outbox');
          return true;
        }
        if (this.abort?.signal.aborted) {
          this.logger.error({ err, events: events.length }, 'alert events publish failed while stopping; their reports stay uncommitted');
          return false;
        }
        this.logger.error({ err, events: events.length, attempt }, 'alert events publish failed; retrying before the offsets are committed');
        await sleep(Math.min(5000, 200 * 2 ** attempt));
      }
    }
  }

  /**
   * alerts.db's outbox holds the events of every committed batch until they are published, which happens only after
   * their incidents were grouped: events still there may be of a batch whose process died in between, so they are
   * grouped (again: harmless) before the drain publishes and removes them. The KV state's pending events are officers'
   * changes, which grouping ignores.
   */
  private async groupPending(olderThanMs?: number): Promise<void> {
    const incidents = this.opts.incidents;
    if (!incidents) return;
    const pending = await this.opts.store.pendingEvents(olderThanMs === undefined ? {} : { olderThanMs });
    if (pending.length === 0) return;
    const grouped = incidents.applyAlertEvents(unsilenced(pending));
    const evs = grouped instanceof Promise ? await grouped : grouped;
    this.s.incidentEvents += evs.length;
    IncidentPublisher.countOpened(evs);
    await this.incidentTopic?.publish(evs);
    // At start, these alerts' batches did not finish: their incident events may be lost (IncidentPublisher).
    if (olderThanMs === undefined) await this.incidentTopic?.republishHolding(incidents, pending);
  }

  private async rewind(consumer: StreamConsumer, records: readonly StreamRecord[]): Promise<void> {
    const first = new Map<number, number>();
    for (const r of records) if (!first.has(r.partition)) first.set(r.partition, r.offset);
    for (const [partition, offset] of first) {
      await consumer.seek(partition, { offset }).catch((err: unknown) => this.logger.warn({ err, partition }, 'rewind failed'));
    }
  }

  private async housekeeping(): Promise<void> {
    const now = Date.now();
    if (now - this.lastOutboxCheck >= OUTBOX_CHECK_MS) {
      this.lastOutboxCheck = now;
      try {
        await this.groupPending(OUTBOX_GRACE_MS);
        await this.incidentTopic?.retry();
        this.s.outboxRepublished += await drainOutbox(this.opts.stream, this.opts.store, { olderThanMs: OUTBOX_GRACE_MS });
      } catch (err) {
        this.s.publishErrors++;
        this.logger.error({ err }, 'outbox drain failed');
      }
    }
    if (now - this.lastPrune >= PRUNE_EVERY_MS) {
      this.lastPrune = now;
      try {
        const n = await this.opts.store.prune();
        if (n > 0) this.logger.debug({ pruned: n }, 'forgot old applied sightings');
      } catch (err) {
        this.logger.warn({ err }, 'prune failed');
      }
    }
  }
}

/**
 * A silenced alert joins no incident: an incident is announced live (SSE) and names its alerts' citizens, which is
 * exactly what a silence withholds (docs/alerts.md, "Silences").
 */
function unsilenced(events: readonly AlertEvent[]): readonly AlertEvent[] {
  return events.some((e) => e.alert.silenced !== undefined) ? events.filter((e) => e.alert.silenced === undefined) : events;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
