/**
 * Ids of version 0, the configuration's `alerts.webhooks` (its own module: the CLI reads policies without loading the
 * router, whose metrics client the quick commands must not load at start, test/cli/start-imports.test.ts).
 */
export const DEFAULT_ROUTE = 'default';
export const defaultTargetId = (i: number): string => `webhook-${i + 1}`;
