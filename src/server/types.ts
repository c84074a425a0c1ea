import type { ReactionTimes } from '../alerts/reaction.ts';
import type { IncidentApi } from './routes/incidents.ts';
import type { RulesApi } from './routes/rules.ts';
import type { NotifyApi } from './routes/notify.ts';
import type { Alert, AlertEvent, AlertStatus } from '../alerts/types.ts';
import type { AnalysisService } from '../analysis/index.ts';
import type { FieldError } from '../errors/index.ts';
import type { AuthDeps } from './auth/plugin.ts';
import type { FleetTracker } from '../fleet/index.ts';
import type { IngestAdmission } from '../ingest/admission.ts';

/** What the HTTP layer needs from ingestion (implemented by src/ingest's Ingestor). */
export interface IngestApi {
  /** `scope`: the publisher's tenant and the one drone it may publish as (from its credential; absent: the server's tenant, any drone). */
  ingestRaw(body: Uint8Array | string, contentType: 'json' | 'ndjson', source: string, scope?: { tenant?: string; droneId?: string }): Promise<{
    accepted: { reportId: string; duplicate: boolean; index: number }[];
    rejected: { index: number; code: string; errors: FieldError[] }[];
  }>;
}

export interface AlertListQuery {
  /** One status or several (`?status=open,acknowledged`). */
  status?: AlertStatus | readonly AlertStatus[];
  /** Only this tenant's alerts (the API always sets the caller's). */
  tenant?: string;
  droneId?: string;
  since?: number;
  /** Latest position inside [minLat, minLon, maxLat, maxLon] (the dashboard's area filter). */
  bbox?: readonly [number, number, number, number];
  limit?: number;
}

/** What the HTTP layer needs from alerts (implemented by src/alerts' store + service). */
export interface AlertApi {
  // Values (SQLite store) or promises (JetStream KV state in distributed mode); the routes await either.
  get(alertId: string): Alert | undefined | Promise<Alert | undefined>;
  list(query: AlertListQuery): Alert[] | Promise<Alert[]>;
  acknowledge(alertId: string, by: string, note?: string): Promise<AlertEvent>;
  assign(alertId: string, assignee: string, by: string): Promise<AlertEvent>;
  resolve(alertId: string, by: string, note?: string): Promise<AlertEvent>;
  /** Reaction times of the alerts raised in [from, to) (the dashboard's reaction-time panel). */
  reactionTimes?(from: number, to: number, tenant?: string): ReactionTimes | Promise<ReactionTimes>;
}

/** Live alert events, fanned out to SSE subscribers. */
export interface AlertFeed {
  subscribe(listener: (event: AlertEvent) => void): () => void;
}

export interface DeadLetterApi {
  list(opts: { limit: number; since?: number; tenant?: string }): Promise<unknown[]>;
}

/** Health of the pipeline: consumer lags and whether ingestion must push back. */
export interface PipelineStatus {
  lag: Record<string, number>;
  /** True when a consumer group is too far behind: ingestion answers 503. */
  overloaded: boolean;
  /** False when the stream has not answered for a while (GET /health/ready answers 503). */
  reachable?: boolean;
  components: Record<string, unknown>;
}

/** What the HTTP layer needs from analysis (implemented by src/analysis' AnalysisService). */
export type AnalysisApi = Pick<AnalysisService, 'listStats' | 'query' | 'stat' | 'statSql' | 'exportCursor' | 'exportToFile' | 'validate' | 'saved' | 'limits'>;

/** Live fleet state (implemented by src/fleet's FleetTracker). */
export type FleetApi = Pick<FleetTracker, 'positions' | 'track' | 'stats' | 'onPositions' | 'onStats'>;

/** What the dashboard's static files and browser configuration come from (src/server/routes/dashboard.ts). */
export interface DashboardOptions {
  /** The built front end (Vite's output: index.html and assets/). */
  dir: string;
  /** Sent to the browser as GET /v1/dashboard/config. */
  client: DashboardClientConfig;
  /** A local raster tile set laid out as `<tileDir>/{z}/{x}/{y}.png`, served under /tiles/. */
  tileDir?: string;
}

export interface DashboardClientConfig {
  /** Leaflet URL template of a tile server (`https://tiles.example/{z}/{x}/{y}.png`); null: the offline vector map only. */
  tileUrl: string | null;
  tileAttribution: string;
  tileMaxZoom: number;
  /** Initial map view [minLat, minLon, maxLat, maxLon]. */
  bbox: [number, number, number, number];
  /** Alert rule thresholds, shown in the legend. */
  alertThreshold: number;
  criticalThreshold: number;
}

export interface ServerDeps {
  /** The tenant of requests without a principal (authentication off); default `default`. See auth/tenant.ts. */
  tenant?: string;
  /** Authentication, roles and audit (src/server/auth). Absent: no authentication (library use and unit tests only). */
  auth?: AuthDeps;
  /** The officers' web dashboard (static files + its config route). */
  dashboard?: DashboardOptions;
  fleet?: FleetApi;
  analysis?: AnalysisApi;
  ingest?: IngestApi;
  alerts?: AlertApi;
  feed?: AlertFeed;
  /** Incidents (src/incidents/): the /v1/incidents routes, and incident events on the live feed. */
  incidents?: IncidentApi;
  /** Alert rules as data and silences (src/rules/). */
  rules?: RulesApi;
  /** Notification policies and the delivery log (src/notify/). */
  notify?: NotifyApi;
  deadLetters?: DeadLetterApi;
  status?: () => PipelineStatus;
  /** Per-drone ingestion limit (src/ingest/rate-limit.ts): applied to drone credentials; absent: no limit. */
  ingestLimit?: { take(key: string): number };
  /** Seconds a client is told to wait when ingestion is overloaded. */
  retryAfterSeconds?: number;
  /** Admission of ingest requests (503 + Retry-After beyond what the platform carries); default: consumer lag only. */
  admission?: IngestAdmission;
  /** Largest request body accepted (a batch of reports). */
  bodyLimit?: number;
}
