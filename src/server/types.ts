import type { Alert, AlertEvent, AlertStatus } from '../alerts/types.ts';
import type { AnalysisService } from '../analysis/index.ts';
import type { FieldError } from '../errors/index.ts';

/** What the HTTP layer needs from ingestion (implemented by src/ingest's Ingestor). */
export interface IngestApi {
  ingestRaw(body: Uint8Array | string, contentType: 'json' | 'ndjson', source: string): Promise<{
    accepted: { reportId: string; duplicate: boolean; index: number }[];
    rejected: { index: number; code: string; errors: FieldError[] }[];
  }>;
}

export interface AlertListQuery {
  status?: AlertStatus;
  droneId?: string;
  since?: number;
  limit?: number;
}

/** What the HTTP layer needs from alerts (implemented by src/alerts' store + service). */
export interface AlertApi {
  get(alertId: string): Alert | undefined;
  list(query: AlertListQuery): Alert[];
  acknowledge(alertId: string, by: string, note?: string): Promise<AlertEvent>;
  assign(alertId: string, assignee: string, by: string): Promise<AlertEvent>;
  resolve(alertId: string, by: string, note?: string): Promise<AlertEvent>;
}

/** Live alert events, fanned out to SSE subscribers. */
export interface AlertFeed {
  subscribe(listener: (event: AlertEvent) => void): () => void;
}

export interface DeadLetterApi {
  list(opts: { limit: number; since?: number }): Promise<unknown[]>;
}

/** Health of the pipeline: consumer lags and whether ingestion must push back. */
export interface PipelineStatus {
  lag: Record<string, number>;
  /** True when a consumer group is too far behind: ingestion answers 503. */
  overloaded: boolean;
  components: Record<string, unknown>;
}

/** What the HTTP layer needs from analysis (implemented by src/analysis' AnalysisService). */
export type AnalysisApi = Pick<AnalysisService, 'listStats' | 'query' | 'stat' | 'statSql' | 'exportCursor' | 'exportToFile' | 'validate' | 'saved' | 'limits'>;

export interface ServerDeps {
  analysis?: AnalysisApi;
  ingest?: IngestApi;
  alerts?: AlertApi;
  feed?: AlertFeed;
  deadLetters?: DeadLetterApi;
  status?: () => PipelineStatus;
  /** Seconds a client is told to wait when ingestion is overloaded. */
  retryAfterSeconds?: number;
  /** Largest request body accepted (a batch of reports). */
  bodyLimit?: number;
}
