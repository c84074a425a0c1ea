export type { Alert, AlertEvent, AlertEventType, AlertStatus, Severity } from './types.ts';
export { compileRules, evaluateReport, SCORE_RULE, type AlertCandidate, type AlertsConfig, type CompiledRules } from './rules.ts';
export { AlertNotFoundError, AlertTransitionError } from './errors.ts';
export { alertIdOf, eventIdOf } from './ids.ts';
export { AlertBus, streamAlertFeed, type AlertBusOptions, type AlertFeed, type AlertFeedOptions, type AlertListener } from './bus.ts';
export { AlertWorker, type AlertWorkerOptions, type AlertWorkerStats } from './worker.ts';
export { AlertService, type AlertServiceOptions } from './service.ts';
export { alertEventRecord, drainOutbox, publishAlertEvents } from './publish.ts';
export {
  WebhookSink, signWebhookBody, type WebhookSinkOptions, type WebhookStats, type WebhookTarget, type WebhookTargetStats,
} from './webhooks.ts';
export { summariseDurations, quantile, type ReactionTimes, type DurationSummary } from './reaction.ts';
export type { AlertState, AlertListQuery, AppliedSightings, MaybePromise, ReportCandidates } from './state.ts';
