import { z } from 'zod';
import { FLEET_DEFAULTS } from '../simulator/options.ts';
import { webhookUrlProblem } from '../alerts/webhook-url.ts';

/** Every option of dronewatch, with its default, in one schema. docs/configuration.md lists them. */
const wordRule = z.strictObject({
  /** Any of these words heard in the report triggers the rule. */
  words: z.array(z.string().min(1)).min(1),
  /** Raises an alert for every citizen whose score is below this (default: the global threshold). */
  threshold: z.number().min(0).max(100).optional(),
  severity: z.enum(['info', 'warning', 'critical']).default('warning'),
});

/** A size as DuckDB writes it: `1GB` (10^9 bytes), `2GiB` (2^31 bytes), `512 MB`. */
const SIZE = /^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$/i;
const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** Bytes of a size matching SIZE. */
export function sizeBytes(size: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(size.trim())!;
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
}

const webhook = z.strictObject({
  url: z.url().superRefine((u, ctx) => {
    const problem = URL.canParse(u) ? webhookUrlProblem(new URL(u)) : undefined; // not a URL: z.url() said so
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** HMAC-SHA256 key for the X-Dronewatch-Signature header. */
  secret: z.string().optional(),
  timeoutMs: z.number().int().positive().default(2000),
});

/**
 * The least analysis.engineMemoryBytes: Node 24.22 does not even start under a data limit of 512 MiB (V8 cannot
 * reserve its code range; 640 MiB does), Node 20 does from 64 MiB. Measured with `prlimit --data=<n> node -e 0`.
 */
const ENGINE_MIN_BYTES = 768 * 1024 ** 2;

export const configSchema = z.strictObject({
  /** Where the embedded stream, alert store, dead letters and (by default) the lake live. */
  dataDir: z.string().min(1).default('./data'),
  /** Police force of single-tenant deployments. */
  tenant: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/).default('default'),
  http: z.strictObject({
    port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().min(1).default('127.0.0.1'),
    /** TLS: PEM certificate chain and private key files. Both set: the API and dashboard are served over HTTPS only. */
    tlsCert: z.string().min(1).optional(),
    tlsKey: z.string().min(1).optional(),
  }).prefault({}),
  metrics: z.strictObject({
    /**
     * The metrics port: GET /metrics without authentication on its own listener (docs/operations.md). How `alerts` and
     * `archive`, which serve no HTTP, are scraped; API processes also answer /metrics on their HTTP port to a token with
     * the metrics:read permission. 0 = any free port (printed at start). Default: no metrics port.
     */
    port: z.number().int().min(0).max(65535).optional(),
    /** Its listen address: only Prometheus should reach it (it shows every tenant's counters). */
    host: z.string().min(1).default('127.0.0.1'),
  }).prefault({}),
  security: z.strictObject({
    /**
     * Authentication, roles and the audit log on the HTTP API (docs/security.md). On by default; off only for
     * library use and tests that are not about security: nothing then stops anyone on the network.
     */
    enabled: z.boolean().default(true),
    /**
     * Where security.db (accounts, credentials) and audit.db live; default the data directory. Processes of one
     * deployment on one host (distributed mode by hand) point it at the same directory so they share accounts.
     */
    dir: z.string().min(1).optional(),
    /**
     * Where tenants, accounts, sessions, API tokens and drone credentials live: `local` (security.db in `dir`: one
     * host), `kv` (JetStream KV: every process of a distributed deployment, on any host), or `auto` (`kv` on a
     * nats:// stream, else `local`). The audit log stays per host (audit.db in `dir`), each copied to the lake.
     */
    store: z.enum(['auto', 'local', 'kv']).default('auto'),
    /** The first administrator, created on first start with a one-time password printed once. */
    bootstrapAdmin: z.string().regex(/^[a-z0-9][a-z0-9._@-]{0,63}$/).default('admin'),
    /** Browser sessions last this long (absolute). Default one shift. */
    sessionTtlHours: z.number().positive().max(24 * 7).default(12),
    /** API processes copy the audit log into the lake (`audit/`) this often, and on shutdown; 0 = never. */
    auditCopySeconds: z.number().nonnegative().default(60),
  }).prefault({}),
  stream: z.strictObject({
    /** `sqlite` (embedded, under dataDir) or a NATS URL list `nats://host:port[,host:port]`. */
    url: z.string().min(1).default('sqlite'),
    /** Embedded log only: `normal` survives a process crash (kill -9); `full` also survives power loss. */
    sync: z.enum(['normal', 'full']).default('normal'),
    /** NATS and Kafka: replicas of what dronewatch creates (JetStream streams, consumers and buckets; Kafka topics), 3 on a 3-node cluster. */
    replicas: z.number().int().min(1).max(5).default(1),
    partitions: z.number().int().min(1).max(1024).default(8),
    /**
     * Retention of the `reports` topic. The lake is the long-term store: the stream only has to hold what the
     * consumers have not read yet, plus a margin for replays. Retention wins over a lagging consumer (as in Kafka).
     */
    reportsRetentionHours: z.number().positive().default(24),
    reportsRetentionBytes: z.number().int().positive().default(2 * 1024 ** 3),
    /**
     * NATS only: how this process logs in to nats-server and checks it (docs/security.md). Secrets come from the
     * environment or files (`DRONEWATCH_STREAM__NATS__PASSWORD_FILE=/run/secrets/nats`), never from the config file.
     */
    nats: z.strictObject({
      user: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      token: z.string().min(1).optional(),
      credsFile: z.string().min(1).optional(),
      tlsCaFile: z.string().min(1).optional(),
      tlsCertFile: z.string().min(1).optional(),
      tlsKeyFile: z.string().min(1).optional(),
    }).prefault({}),
  }).prefault({}),
  lake: z.strictObject({
    /** Where the lake is: a directory or `s3://bucket/prefix` (S3_ENDPOINT for non-AWS servers); default `<dataDir>/lake`. */
    path: z.string().min(1).optional(),
    /** Local cache of a lake on S3 (the objects queries need are fetched there); default `<dataDir>/lake-cache`. */
    cacheDir: z.string().min(1).optional(),
    /** Size limit of that cache; least recently used files are evicted beyond it. */
    cacheBytes: z.number().int().positive().default(2 * 1024 ** 3),
    /** Hour partitions of `reports` older than this many days are deleted (archiver hourly, `dronewatch lake retention`). Default: kept. */
    reportsRetentionDays: z.number().positive().optional(),
    /** The same for `alerts` (alert events), which may have their own legal retention period. Default: kept. */
    alertsRetentionDays: z.number().positive().optional(),
  }).prefault({}),
  ingest: z.strictObject({
    maxReportBytes: z.number().int().positive().default(65536),
    /** Above this many unconsumed reports (alerts or archive group), ingestion answers 503 with Retry-After. */
    maxLag: z.number().int().positive().default(500_000),
    /**
     * Admission of HTTP ingestion (src/ingest/admission.ts, docs/operations.md "Overload"): beyond any of these, a
     * request is answered 503 with Retry-After before its body is read, and nothing of it is stored. Bytes of request
     * bodies this process holds at once (by Content-Length), and requests it works on at once: they bound its memory.
     */
    maxInflightBytes: z.number().int().positive().default(256 * 1024 ** 2),
    maxInflightRequests: z.number().int().positive().default(256),
    /** 99th percentile of the event-loop delay over the last second above which the process takes no more (0: off). */
    maxEventLoopDelayMs: z.number().int().nonnegative().default(2000),
    /** Free bytes kept on the data directory's filesystem: below it, 503 DW_STORAGE_FULL (0: off). */
    minFreeBytes: z.number().int().nonnegative().default(64 * 1024 ** 2),
    /** Timestamps further in the future than this are rejected. */
    maxClockSkewMs: z.number().int().nonnegative().default(5 * 60_000),
    /**
     * Per-drone HTTP ingestion limit (drone credentials; gateways are bounded by `maxLag` instead): each drone's bucket
     * of `perDroneBurst` requests refills at this rate; beyond it, 429 DW_INGEST_RATE_LIMITED. 0 turns it off. A drone
     * sends one report a minute, so the default (1/s, 600 at once) leaves room to flush ten hours of buffered reports.
     */
    perDroneRequestsPerSecond: z.number().nonnegative().default(1),
    perDroneBurst: z.number().int().positive().default(600),
    /**
     * `dronewatch ingest` on a NATS stream also takes the reports drones publish over MQTT (QoS 1 to
     * `drones/<droneId>/reports`, through nats-server's MQTT listener). Needs a `nats://` stream.url.
     */
    mqtt: z.boolean().default(false),
  }).prefault({}),
  alerts: z.strictObject({
    /** A citizen scoring strictly below this raises an alert. */
    threshold: z.number().min(0).max(100).default(20),
    /** Below this score the alert is critical. */
    criticalThreshold: z.number().min(0).max(100).default(5),
    /** The same citizen seen again by the same drone within this window updates the open alert. */
    dedupWindowMs: z.number().int().nonnegative().default(10 * 60_000),
    wordRules: z.array(wordRule).default([]),
    webhooks: z.array(webhook).default([]),
    /**
     * Where alert state lives: `local` = SQLite `<dataDir>/alerts.db` (one process, or processes sharing the data
     * directory); `kv` = the backend's shared buckets (JetStream KV on NATS, log-backed topics on Kafka), shared by
     * every worker and API process (needs a nats:// or kafka:// stream); `auto` = `kv` on those, else `local`.
     */
    state: z.enum(['auto', 'local', 'kv']).default('auto'),
    /**
     * `kv` state only: an alert stays in the shared state this long after its last change (bucket TTL; each API
     * process holds its tenant's alerts of that period in memory, ~1 KB each). Older ones are in the lake. Keep at least
     * 8 days: the dashboard's reaction-time panel compares the last 7.
     */
    stateRetentionHours: z.number().min(1).default(192),
  }).prefault({}),
  /**
   * Notification policies per tenant (docs/alerts.md, "Notifications"): delivery, escalation timing, the delivery log.
   * The policies themselves are data (GET|PUT /v1/notification-policies); alerts.webhooks is version 0 of each tenant.
   */
  notifications: z.strictObject({
    /** Length of a policy "minute" in ms (repeatMinutes, escalate.afterMinutes). 60000; shorter only for tests and demos. */
    minuteMs: z.number().int().min(10).max(60_000).default(60_000),
    /** How often each alert worker looks for due repeats and escalations: an escalation is late by at most this. */
    tickMs: z.number().int().min(10).max(60_000).default(1000),
    /** Delivery log entries and escalation state are kept this long. */
    retentionHours: z.number().positive().max(24 * 366).default(168),
    /** At most this many delivery log entries per tenant (the newest). */
    maxDeliveries: z.number().int().min(100).max(1_000_000).default(10_000),
    /** Attempts per notification, the first included; the retry delay doubles from baseDelayMs (full jitter) up to maxDelayMs. */
    maxAttempts: z.number().int().min(1).max(20).default(6),
    baseDelayMs: z.number().int().min(1).max(60_000).default(250),
    maxDelayMs: z.number().int().min(1).max(600_000).default(30_000),
    /**
     * Policy targets must be under one of these (e.g. `https://hooks.example.org/`; urlUnderPrefix); empty: any http(s) URL. What
     * keeps a tenant's supervisor from making the platform call internal services (SSRF); alerts.webhooks is not checked.
     */
    allowedUrlPrefixes: z.array(z.url()).default([]),
  }).prefault({}),
  /** Grouping of alerts into incidents (docs/incidents.md). Incidents live where alerts.state puts alerts. */
  incidents: z.strictObject({
    /** An alert within this distance of a live incident's centroid joins it. */
    radiusMeters: z.number().positive().max(50_000).default(300),
    /** ...if it was seen within this long of the incident's activity (report time). */
    windowMinutes: z.number().positive().max(24 * 60).default(5),
    /** New citizens per minute and area growth are measured over this window, ending at the latest sighting. */
    growthWindowMinutes: z.number().positive().max(24 * 60).default(5),
    /** An incident is `growing` from this many new distinct citizens per minute (or when its radius grew by half the grouping radius). */
    growingCitizensPerMinute: z.number().positive().default(0.4),
    /** An incident of this many distinct citizens is critical (2 or more: at least warning). */
    criticalCitizens: z.number().int().min(2).default(5),
  }).prefault({}),
  archive: z.strictObject({
    /** A Parquet file is written when a partition has this many records buffered... */
    maxBatchRecords: z.number().int().positive().default(100_000),
    /** ...or its oldest buffered record is this old. */
    maxBatchAgeMs: z.number().int().positive().default(10_000),
    /**
     * The same age for the event tables (alerts, incidents), which get ~1% of the reports' records: a flush costs the
     * commit protocol whatever its size. Default 6 x maxBatchAgeMs (60 s).
     */
    maxEventBatchAgeMs: z.number().int().positive().optional(),
    /** An hour partition with more small files than this is compacted; 0 turns the archive worker's compaction off. */
    compactMinFiles: z.union([z.literal(0), z.number().int().min(2)]).default(8),
    /**
     * DuckDB memory_limit of a compaction's merge, e.g. `1GB`: a closed hour's merge sorts a whole tenant-hour, and
     * DuckDB's own default (80% of RAM) would compete with ingestion. Beyond it the merge spills to the scratch dir.
     */
    compactMemoryLimit: z.string().regex(SIZE).default('1GB'),
    /**
     * Where the archive worker's compaction runs: `child` (a short-lived process per pass: the memory of a closed
     * hour's merge goes back to the system when it exits) or `here` (the archive worker's own thread or process).
     */
    compactIn: z.enum(['child', 'here']).default('child'),
    /**
     * V8 young generation of the archive worker's thread (`up`), MiB (resourceLimits.maxYoungGenerationSizeMb); 0 =
     * V8's own sizing (~32 MiB of semi-spaces grown by allocation rate). Its objects are short-lived batches of
     * records: a small young generation collects them as often at a fraction of the heap (docs/benchmarks.md, soak).
     */
    threadYoungGenerationMb: z.number().int().min(0).max(1024).default(8),
    /**
     * zstd level of a closed hour's merge across partitions (docs/lake-format.md, "Size and speed": 15 meets the
     * 30-byte goal; 19 saves ~0.9 byte per report at ~2.4x the CPU).
     */
    compactionHourLevel: z.number().int().min(1).max(22).default(15),
  }).prefault({}),
  analysis: z.strictObject({
    /** Rows a query answer holds at most (`POST /v1/query`, `dronewatch query`); exports have no row limit. */
    maxRows: z.number().int().positive().default(10_000),
    /** A query (or statistic) still running after this long is interrupted. */
    timeoutSeconds: z.number().positive().default(120),
    /** Same for exports, which read the whole result; 0 = no limit. */
    exportTimeoutSeconds: z.number().nonnegative().default(0),
    /** The API re-lists the lake's files at most this often: queries see reports archived up to this long ago. */
    refreshSeconds: z.number().nonnegative().default(5),
    /**
     * DuckDB memory_limit of each query engine (a tenant's snapshot, shared by its queries; an export), e.g. `4GB`.
     * Queries never spill to disk: one needing more stops with DW_QUERY_TOO_LARGE. DuckDB's own default would be 80%
     * of the machine's RAM for each engine.
     */
    memoryLimit: z.string().regex(SIZE).default('1GB'),
    /**
     * Bytes a query answer holds at most (its rows, counted about as JSON; `POST /v1/query`, statistics, saved-query
     * runs); beyond, DW_QUERY_TOO_LARGE. Exports have none: they stream to a file or a download.
     */
    maxResultBytes: z.number().int().positive().default(64 * 1024 * 1024),
    /** Queries and exports one tenant may run at once; beyond, 429 DW_QUERY_TOO_MANY with Retry-After. */
    maxQueriesPerTenant: z.number().int().positive().default(2),
    /**
     * Queries and exports the analysis service runs at once, all tenants together (beyond, 429 DW_QUERY_TOO_MANY):
     * with memoryLimit, what bounds DuckDB's memory for analysis (maxQueries x memoryLimit).
     */
    maxQueries: z.number().int().positive().default(4),
    /** DuckDB threads per query engine; default one per core. */
    threads: z.number().int().positive().optional(),
    /**
     * Hard memory bound of each query-engine process (one per force with queries running; docs/analysis.md
     * "Limits"): its RLIMIT_DATA, set with prlimit. Bytes, or a size such as `2GiB`. Above memoryLimit, so that
     * DuckDB's own accounting answers first when it can; what it does not count (a chunk's huge strings) stops here,
     * with DW_QUERY_TOO_LARGE, instead of growing the server.
     */
    engineMemoryBytes: z.union([
      z.number().int().min(ENGINE_MIN_BYTES),
      z.string().regex(SIZE).transform(sizeBytes).pipe(z.number().int().min(ENGINE_MIN_BYTES)),
    ]).default(2 * 1024 ** 3),
  }).superRefine((a, ctx) => {
    // DuckDB allowed as much as the process may hold would meet the process's limit first: Node, V8's heap and the
    // rows being converted need room beside it.
    if (a.engineMemoryBytes < sizeBytes(a.memoryLimit) + 256 * 1024 ** 2) {
      ctx.addIssue({ code: 'custom', path: ['engineMemoryBytes'], message: `must be at least analysis.memoryLimit (${a.memoryLimit}) + 256 MiB: the engine process holds Node and the rows in flight besides DuckDB's memory` });
    }
  }).prefault({}),
  dashboard: z.strictObject({
    /** Serve the officers' web dashboard at `/` (with `up` and `serve`). */
    enabled: z.boolean().default(true),
    /** Directory of the built front end; default `web/dist` of the installation (what `npm ci` builds). */
    dir: z.string().min(1).optional(),
    /** Leaflet URL template of a tile server, e.g. `https://tiles.intranet/{z}/{x}/{y}.png`; default none (offline vector map). */
    tileUrl: z.string().min(1).optional(),
    /** Attribution shown for those tiles (licences usually require one). */
    tileAttribution: z.string().default(''),
    tileMaxZoom: z.number().int().min(1).max(24).default(19),
    /** A local tile set `<tileDir>/{z}/{x}/{y}.png`, served at /tiles/ (and used when `tileUrl` is not set). */
    tileDir: z.string().min(1).optional(),
    /** Initial map view [minLat, minLon, maxLat, maxLon]; default Paris. */
    bbox: z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180)])
      .default([48.815, 2.225, 48.902, 2.47]),
    /** A drone is shown as silent after this long without a report. */
    silentAfterSeconds: z.number().positive().default(300),
    /** Recent positions kept per drone for the live map. */
    trackLength: z.number().int().min(2).max(1000).default(20),
    /** On start, the live map reads the reports of this many past seconds (0: only new ones). */
    fleetLookbackSeconds: z.number().nonnegative().default(120),
  }).prefault({}),
  simulator: z.strictObject({
    drones: z.number().int().min(1).max(10_000_000).default(1000),
    /** Simulated seconds per real second (1 = real time). */
    speed: z.number().positive().default(60),
    seed: z.number().int().default(42),
    /**
     * Gatherings under way at once at most: people of concern meeting at squares and stations, growing, marching and
     * dispersing (docs/simulator.md, "Gatherings"); 0: only the scattered low scores.
     */
    gatherings: z.number().int().min(0).max(100).default(FLEET_DEFAULTS.gatherings),
    /** Patrolled area: [minLat, minLon, maxLat, maxLon]; default Paris. */
    bbox: z.tuple([z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180)])
      .default([48.815, 2.225, 48.902, 2.47]),
  }).prefault({}),
});

export type Config = z.infer<typeof configSchema>;
/** What a config file or override may hold: any subset of Config. */
export type ConfigInput = z.input<typeof configSchema>;
