export * from './definitions.ts';
export { registry, renderMetrics, enableProcessMetrics, METRICS_CONTENT_TYPE } from './registry.ts';
export { recordIngest, recordAlertEvents, recordArchiveBatch, forwardArchiveBatches, startQueryTimer, type ArchiveBatchMetrics } from './record.ts';
export { watchStreamLag } from './stream-lag.ts';
export { installHttpMetrics } from './http.ts';
export { startMetricsListener, type MetricsListener } from './server.ts';
