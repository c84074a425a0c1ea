import type { FastifyInstance } from 'fastify';
import { AlertBus, AlertService, AlertWorker, streamAlertFeed, type AlertState } from '../alerts/index.ts';
import type { AlertFeed as TopicAlertFeed } from '../alerts/index.ts';
import { AnalysisService } from '../analysis/index.ts';
import { ArchiveWorker } from '../archive/index.ts';
import { AlertStore, natsServers, openBackend, type Backend } from '../backend/index.ts';
import { dataPaths, type Config } from '../config/index.ts';
import { openIncidentState } from '../backend/incidents.ts';
import type { IncidentState } from '../incidents/state.ts';
import { openRules, rulesConfigOf, type PlatformRules } from '../rules/platform.ts';
import { openNotify, type PlatformNotify } from '../notify/platform.ts';
import { ConfigError, DwError, isDwError } from '../errors/index.ts';
import { DEFAULT_MAX_BODY_BYTES, IngestRateLimiter, Ingestor, listDeadLetters } from '../ingest/index.ts';
import { IngestAdmission } from '../ingest/admission.ts';
import { lakeFilesFor, type LakeFileSet } from '../lake/index.ts';
import { FleetTracker } from '../fleet/index.ts';
import { MqttBridge } from '../mqtt/index.ts';
import { buildServer, type IngestApi, type PipelineStatus } from '../server/index.ts';
import { dashboardOptions, listenOn, tlsFiles } from './http-options.ts';
import { AuditLog, generatePassword, type CredentialStore, type ScryptParams } from '../security/index.ts';
import { runSimulator, type SimulatorMode, type SimulatorProgress } from '../simulator/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS, type Stream, type TopicConfig } from '../stream/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { archiveWorkerOptions, ArchiveThread, type ArchiveRunner } from './archive-host.ts';
import { startAuditCopy, type AuditCopy } from './audit-copy.ts';
import { newestReportTime } from './resume.ts';
import { PipelineMonitor } from './monitor.ts';
import { startMetricsListener, watchStreamLag, type MetricsListener } from '../metrics/index.ts';
import type { SummarySnapshot } from './summary.ts';

export interface SimulatorPlan {
  mode: SimulatorMode;
  speed?: number;
  from?: Date;
  days?: number;
  onProgress?: (p: SimulatorProgress) => void;
}

/** Which components run in this process. `up` runs them all; each CLI command runs one. */
export interface PlatformComponents {
  simulator?: SimulatorPlan;
  alerts?: boolean;
  /** `true`: the archive consumer on this thread; `'thread'`: in a worker thread (the second core, for `up`). */
  archive?: boolean | 'thread';
  /** `api`: ingestion + alerts + live feed + dead letters; `ingest`: report ingestion only. */
  http?: 'api' | 'ingest';
}

/**
 * The composition root: opens the stream, creates the topics, and wires the components this process runs.
 * Every component talks to the others only through the stream (and, in one process, the in-process alert bus, which
 * is the low-latency path from the alert worker to live subscribers).
 */
export class Platform {
  /** Everything this process shares with the others of its deployment (src/backend/). */
  readonly backend: Backend;
  readonly stream: Stream;
  readonly config: Config;
  readonly bus = new AlertBus();
  readonly ingestor: Ingestor;
  /** The SQLite store (alerts.state local); undefined with the shared KV state. */
  alertStore: AlertStore | undefined;
  alertService: AlertService<AlertStore> | undefined;
  /** The alert state in use (either kind) and the API over it (docs/alerts.md, "State in distributed mode"). */
  alertState: AlertState | undefined;
  alertApi: AlertService | undefined;
  alertWorker: AlertWorker | undefined;
  /** Incidents, beside the alert state (src/backend/incidents.ts): grouped by the alert worker, served by the API. */
  incidents: IncidentState | undefined;
  /** Alert rules as data and silences, beside the alert state (src/rules/): followed by the worker, served by the API. */
  rules: PlatformRules | undefined;
  /** Notification policies, their router (every announced event goes through it) and, with a worker, the escalator (src/notify/). */
  notify: PlatformNotify | undefined;
  archiveWorker: ArchiveRunner | undefined;
  server: FastifyInstance | undefined;
  analysis: AnalysisService | undefined;
  /** Live fleet state for the dashboard (API processes). */
  fleet: FleetTracker | undefined;
  /** Reports from drones over MQTT (`ingest` with `ingest.mqtt` on a NATS stream). */
  mqttBridge: MqttBridge | undefined;
  /** Where the HTTP server listens, once started. */
  address: string | undefined;
  /** The metrics port's listener (`metrics.port`), once started; its `url` is printed at start. */
  metrics: MetricsListener | undefined;
  private unwatchLag: (() => void) | undefined;
  /** Tenants, officers, drone credentials (`security.enabled`, HTTP processes). */
  security: CredentialStore | undefined;
  /** The audit trail of every access to personal data and every change (with `security`). */
  audit: AuditLog | undefined;
  /**
   * The first administrator's credentials, created on the first start of an empty security store: the CLI prints
   * them once, then they exist nowhere in clear. Read it with takeBootstrapCredential().
   */
  private bootstrapCredential: { username: string; password: string; tenant: string } | undefined;
  private auditCopy: AuditCopy | undefined;
  private readonly logger: Logger;
  private readonly monitor: PipelineMonitor;
  /** The analysis engine's view of the lake (holds the S3 connections of a lake on S3). */
  private lakeFiles: LakeFileSet | undefined;
  /** One per process: every HTTP server of it counts a drone's requests in the same bucket. */
  private ingestLimit: IngestRateLimiter | undefined;
  /** Admission of HTTP ingestion (503 + Retry-After beyond what the platform carries): src/ingest/admission.ts. */
  private admission: IngestAdmission | undefined;
  private topicFeed: TopicAlertFeed | undefined;
  private simulatorAbort: AbortController | undefined;
  /** True when this start created the first administrator (its password is printed once). */
  adminCreatedNow = false;
  /** Where the simulator carried on from, when it found reports of the day it would replay (a restart). */
  simulatorResumedFrom: Date | undefined;
  private simulatorRun: Promise<unknown> | undefined;
  private counters = { ingested: 0, rejected: 0 };
  /** Open alerts at the last snapshot: the store is closed after stop(), the final summary still shows it. */
  private lastOpenAlerts = 0;
  private stopped = false;

  private constructor(backend: Backend, stream: Stream, config: Config, logger: Logger) {
    this.backend = backend;
    this.stream = stream;
    this.config = config;
    this.logger = logger;
    this.ingestor = new Ingestor({
      stream,
      tenant: config.tenant,
      maxReportBytes: config.ingest.maxReportBytes,
      maxClockSkewMs: config.ingest.maxClockSkewMs,
      logger,
    });
    this.monitor = new PipelineMonitor(stream, { maxLag: config.ingest.maxLag });
  }

  /** `scrypt`: password hashing cost (tests lower it; the default is the production one, docs/security.md). */
  static async open(config: Config, opts: { logger?: Logger; scrypt?: ScryptParams } = {}): Promise<Platform> {
    const logger = opts.logger ?? silentLogger;
    const backend = await openBackend(config, { logger, ...(opts.scrypt ? { scrypt: opts.scrypt } : {}) });
    const stream = await backend.stream();
    const withPartitions = (c: TopicConfig): TopicConfig => ({ ...c, partitions: c.partitions > 1 ? config.stream.partitions : 1 });
    await stream.ensureTopic(TOPICS.reports, {
      ...withPartitions(DEFAULT_TOPIC_CONFIG.reports),
      retention: { maxAgeMs: config.stream.reportsRetentionHours * 3600_000, maxBytes: config.stream.reportsRetentionBytes },
    });
    await stream.ensureTopic(TOPICS.alerts, withPartitions(DEFAULT_TOPIC_CONFIG.alerts));
    await stream.ensureTopic(TOPICS.incidents, withPartitions(DEFAULT_TOPIC_CONFIG.incidents));
    await stream.ensureTopic(TOPICS.deadLetters, DEFAULT_TOPIC_CONFIG.deadLetters);
    return new Platform(backend, stream, config, logger);
  }

  /** The first administrator's one-time password, once (undefined afterwards, and when the store already had users). */
  takeBootstrapCredential(): { username: string; password: string; tenant: string } | undefined {
    const c = this.bootstrapCredential;
    this.bootstrapCredential = undefined;
    return c;
  }

  /**
   * Opens the security store and the audit log of an HTTP process. On the first start (no user at all) it creates the
   * deployment's tenant and an administrator with a generated password, handed to the CLI to print once.
   */
  private async openSecurity(): Promise<void> {
    const dir = this.config.security.dir ?? dataPaths(this.config).dataDir;
    this.security = await this.backend.credentials();
    this.audit = AuditLog.open(dir);
    await this.security.ensureTenant(this.config.tenant);
    const username = this.config.security.bootstrapAdmin;
    const password = generatePassword();
    if (await this.security.bootstrapAdmin(this.config.tenant, username, password)) {
      this.audit.append({ actor: 'system', tenant: this.config.tenant, action: 'user.create', target: username, details: { roles: ['admin'], bootstrap: true } });
      this.bootstrapCredential = { username, password, tenant: this.config.tenant };
      this.adminCreatedNow = true;
    }
  }

  /** Starts the given components; resolves when each is running. */
  async start(components: PlatformComponents): Promise<this> {
    const { config, stream, logger } = this;
    const needsStore = components.alerts || components.http === 'api';
    if (needsStore) {
      const state = this.alertState = await this.backend.alertState();
      this.incidents = await openIncidentState(state, config, logger);
      this.rules = await openRules(state, rulesConfigOf(config), { follow: components.alerts === true, logger });
      this.notify = await openNotify(state, this.rules.store, { notifications: config.notifications, webhooks: config.alerts.webhooks }, { escalate: components.alerts === true, incidents: this.incidents, logger });
      const announce = { stream, bus: this.bus, webhooks: this.notify.router, logger };
      if (state instanceof AlertStore) {
        this.alertStore = state;
        this.alertApi = this.alertService = new AlertService({ store: state, ...announce });
      } else {
        this.alertApi = new AlertService({ store: state, ...announce });
      }
    }
    if (components.alerts) {
      this.alertWorker = new AlertWorker({
        // Every tenant the stream carries (a NATS stream carries only its tenant's).
        stream, store: this.alertState!, config: config.alerts, bus: this.bus, logger,
        ...(this.notify ? { webhooks: this.notify.router } : {}), ...(this.incidents ? { incidents: this.incidents } : {}),
        ...(this.rules?.book ? { rules: this.rules.book } : {}),
      });
      await this.alertWorker.start();
    } else if (components.http === 'api') {
      // No worker here: live alerts come from the `alerts` topic, whoever raised them.
      this.topicFeed = streamAlertFeed(stream, this.bus, { logger });
      await this.topicFeed.ready;
    }
    if (components.archive === 'thread') {
      this.archiveWorker = new ArchiveThread(config, logger);
      await this.archiveWorker.start();
    } else if (components.archive) {
      this.archiveWorker = new ArchiveWorker(archiveWorkerOptions(config, stream, logger));
      await this.archiveWorker.start();
    }
    this.monitor.start();
    this.unwatchLag = watchStreamLag(stream);
    if (config.metrics.port !== undefined) this.metrics = await startMetricsListener({ host: config.metrics.host, port: config.metrics.port });
    if (components.http) await this.startHttp(components.http);
    if (components.http === 'ingest' && config.ingest.mqtt) await this.startMqtt();
    if (components.simulator) this.startSimulator(await this.resumed(components.simulator));
    return this;
  }

  private async startMqtt(): Promise<void> {
    const url = this.config.stream.url;
    if (this.backend.kind !== 'nats') {
      throw new ConfigError(`ingest.mqtt needs a NATS stream (stream.url nats://host:port), not "${url}": drones publish through nats-server's MQTT listener`, [
        { field: 'ingest.mqtt', reason: 'requires a nats:// stream.url' },
      ]);
    }
    this.mqttBridge = await MqttBridge.start({
      servers: natsServers(url),
      ingest: this.countingIngest(),
      ...(this.config.ingest.perDroneRequestsPerSecond > 0
        ? { ingestLimit: (this.ingestLimit ??= new IngestRateLimiter({ perSecond: this.config.ingest.perDroneRequestsPerSecond, burst: this.config.ingest.perDroneBurst })) }
        : {}), stream: this.stream, tenant: this.config.tenant, replicas: this.config.stream.replicas, security: this.config.stream.nats, logger: this.logger,
    });
  }

  private countingIngest(): IngestApi {
    // A NATS or Kafka stream is opened for one tenant (its subjects or topics, groups and shared state are in that
    // tenant's namespace): its ingest process takes reports of that tenant only. The embedded stream carries every tenant's.
    const onlyTenant = this.backend.tenantScope;
    return {
      ingestRaw: async (body, type, source, scope) => {
        if (onlyTenant !== undefined && scope?.tenant !== undefined && scope.tenant !== onlyTenant) {
          throw new DwError('DW_AUTH_FORBIDDEN', `forbidden: this ingest process serves tenant "${onlyTenant}", not "${scope.tenant}"`, { status: 403 });
        }
        const r = await this.ingestor.ingestRaw(body, type, source, scope).catch((e: unknown) => {
          if (isDwError(e) && e.code === 'DW_STORAGE_FULL') this.admission?.storageFull(); // refuse before reading bodies
          throw e;
        });
        this.counters.ingested += r.accepted.length;
        this.counters.rejected += r.rejected.length;
        return r;
      },
    };
  }

  private async startHttp(kind: 'api' | 'ingest'): Promise<void> {
    if (kind === 'api') {
      const paths = dataPaths(this.config);
      this.analysis = new AnalysisService({
        source: (this.lakeFiles = lakeFilesFor(paths.lake, { cacheDir: paths.lakeCache, cacheBytes: this.config.lake.cacheBytes, logger: this.logger })),
        config: this.config.analysis, saved: await this.backend.savedQueries(), logger: this.logger,
      });
      const d = this.config.dashboard;
      this.fleet = new FleetTracker({
        // Every tenant's drones: each API view filters by the caller's tenant.
        stream: this.stream, trackLength: d.trackLength, silentAfterMs: d.silentAfterSeconds * 1000,
        lookbackMs: d.fleetLookbackSeconds * 1000, logger: this.logger,
      });
      await this.fleet.start();
    }
    if (this.config.security.enabled) await this.openSecurity();
    const tls = tlsFiles(this.config.http);
    const deps = {
      tenant: this.config.tenant,
      ...(this.security && this.audit
        ? {
            auth: {
              security: this.security, audit: this.audit, secureCookies: tls !== undefined, sessionTtlMs: this.config.security.sessionTtlHours * 3600_000,
              // Distributed mode: failed logins counted across every API host; embedded: in this process.
              limiter: this.security.loginLimiter(),
            },
          }
        : {}),
      ingest: this.countingIngest(),
      ...(this.config.ingest.perDroneRequestsPerSecond > 0
        ? { ingestLimit: (this.ingestLimit ??= new IngestRateLimiter({ perSecond: this.config.ingest.perDroneRequestsPerSecond, burst: this.config.ingest.perDroneBurst })) }
        : {}),
      status: (): PipelineStatus => this.status(),
      retryAfterSeconds: 2,
      admission: (this.admission ??= new IngestAdmission({
        ...this.config.ingest, maxBodyBytes: DEFAULT_MAX_BODY_BYTES, dataDir: this.config.dataDir, retryAfterSeconds: 2,
        lagging: () => this.monitor.current().overloaded,
      })),
      ...(kind === 'api'
        ? {
            alerts: this.alertApi!,
            feed: this.bus,
            ...(this.incidents ? { incidents: this.incidents } : {}),
            ...(this.rules ? { rules: this.rules.service } : {}),
            ...(this.notify ? { notify: this.notify.service } : {}),
            deadLetters: { list: (o: { limit: number; since?: number; tenant?: string }) => listDeadLetters(this.stream, o) },
            analysis: this.analysis!,
            fleet: this.fleet!,
            ...(this.config.dashboard.enabled ? { dashboard: dashboardOptions(this.config) } : {}),
          }
        : {}),
    };
    const copyEvery = this.config.security.auditCopySeconds;
    if (kind === 'api' && this.audit && copyEvery > 0) {
      const paths = dataPaths(this.config);
      this.auditCopy = startAuditCopy(this.audit, paths.lake, { everyMs: copyEvery * 1000, scratchDir: paths.lakeScratch, logger: this.logger });
    }
    this.server = await buildServer(deps, { logger: this.logger, ...(tls ? { https: tls } : {}) });
    this.address = await listenOn(this.server, this.config.http);
  }

  /**
   * An accelerated replay without a start carries on after the newest report the stream holds, when that is within
   * the day it would replay: a restart does not send the same day again (`simulatorResumedFrom` says so).
   */
  private async resumed(plan: SimulatorPlan): Promise<SimulatorPlan> {
    if (plan.mode !== 'accelerated' || plan.from) return plan;
    const newest = await newestReportTime(this.stream);
    if (newest === undefined || newest < Date.now() - 24 * 3600_000) return plan;
    this.simulatorResumedFrom = new Date(Math.min(newest + 1, Date.now()));
    return { ...plan, from: this.simulatorResumedFrom };
  }

  private startSimulator(plan: SimulatorPlan): void {
    const s = this.config.simulator;
    this.simulatorAbort = new AbortController();
    this.simulatorRun = runSimulator({
      drones: s.drones, seed: s.seed, bbox: s.bbox, gatherings: s.gatherings,
      mode: plan.mode,
      ...(plan.mode === 'accelerated' ? { speed: plan.speed ?? s.speed } : {}),
      ...(plan.from ? { from: plan.from } : {}),
      ...(plan.days !== undefined ? { days: plan.days } : {}),
      ...(plan.onProgress ? { onProgress: plan.onProgress } : {}),
      signal: this.simulatorAbort.signal,
      sink: async (batch) => {
        await this.monitor.waitUntilBelowLimit(this.simulatorAbort!.signal);
        const r = await this.ingestor.ingestReports(batch, 'simulator');
        this.counters.ingested += r.accepted.length;
        this.counters.rejected += r.rejected.length;
      },
    }).catch((err: unknown) => this.logger.error({ err }, 'simulator stopped'));
  }

  /** Resolves when a finite simulator run (backfill) has emitted everything. */
  simulatorDone(): Promise<unknown> {
    return this.simulatorRun ?? Promise.resolve();
  }

  status(): PipelineStatus {
    const m = this.monitor.current();
    return {
      lag: m.lag,
      overloaded: m.overloaded,
      reachable: m.reachable,
      components: {
        ...(this.alertWorker ? { alerts: this.alertWorker.stats() } : {}),
        ...(this.archiveWorker ? { archive: this.archiveWorker.stats() } : {}),
      },
    };
  }

  snapshot(): SummarySnapshot {
    const a = this.alertWorker?.stats();
    return {
      at: Date.now(),
      reportsIngested: this.counters.ingested,
      reportsRejected: this.counters.rejected,
      alertsRaised: a?.alertsRaised ?? 0,
      alertsOpen: this.openAlerts(),
      lakeRows: this.archiveWorker?.stats().perTopic.reports?.rowsWritten ?? 0,
      lag: this.monitor.current().lag,
    };
  }

  private openAlerts(): number {
    const counts = this.alertState && !this.stopped ? this.alertState.countByStatus() : undefined;
    // Both states count synchronously (the KV one from its watched view); a promise would only be skipped here.
    if (counts && !(counts instanceof Promise)) this.lastOpenAlerts = counts.open;
    return this.lastOpenAlerts;
  }

  /** Stops in dependency order: producers first, then consumers (which flush), then the stream. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.openAlerts();
    this.stopped = true;
    this.simulatorAbort?.abort();
    await this.simulatorRun;
    await this.server?.close();
    await this.mqttBridge?.stop();
    await this.fleet?.stop();
    await this.analysis?.close();
    await this.lakeFiles?.close();
    await this.topicFeed?.stop();
    await this.alertWorker?.stop();
    await this.archiveWorker?.stop();
    // Where the webhooks were flushed: stops the escalator, then flushes what is queued (up to 5 s); before the
    // incidents, alert state and rules it reads.
    await this.notify?.close();
    this.monitor.stop();
    this.admission?.close();
    await this.metrics?.close();
    this.unwatchLag?.();
    // The last copy of this host's audit log, after the server closed: nothing is appended any more.
    await this.auditCopy?.stop();
    this.audit?.close();
    // Before the alert state, whose connection it shares.
    await this.incidents?.close();
    await this.rules?.close();
    // Alert state, credentials, saved queries, then the stream.
    await this.backend.close();
  }
}
