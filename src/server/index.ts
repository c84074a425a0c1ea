export { buildServer } from './app.ts';
export type { DashboardClientConfig, DashboardOptions, FleetApi, ServerDeps, IngestApi, AlertApi, AlertFeed, DeadLetterApi, PipelineStatus, AlertListQuery } from './types.ts';
export { DEFAULT_DASHBOARD_DIR } from './routes/dashboard.ts';
