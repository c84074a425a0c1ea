export { buildServer } from './app.ts';
export type { ServerDeps, IngestApi, AlertApi, AlertFeed, DeadLetterApi, PipelineStatus, AlertListQuery } from './types.ts';
