import { collectDefaultMetrics, Registry } from 'prom-client';

/**
 * The one registry of a process: every dronewatch metric is registered here (definitions.ts), and /metrics
 * (http.ts, server.ts) renders it. Not prom-client's global registry, so that a library embedding dronewatch keeps
 * its own metrics apart.
 */
export const registry = new Registry();

let processMetrics = false;

/**
 * prom-client's process and Node.js metrics (CPU, memory, event-loop lag, GC, handles), once per process. Called by
 * the processes that expose metrics; an archive worker thread does not (its process is the one that scrapes).
 */
export function enableProcessMetrics(): void {
  if (processMetrics) return;
  processMetrics = true;
  collectDefaultMetrics({ register: registry });
}

/**
 * The exposition text, optionally without the series of other tenants: a principal of tenant T reads the series
 * labelled `tenant="T"` and those without a tenant label (process, stream, HTTP); every tenant's with no filter.
 * Tenant ids are `[a-z0-9_-]` (src/config/schema.ts), so the label is matched without unescaping.
 */
export async function renderMetrics(onlyTenant?: string): Promise<string> {
  const text = await registry.metrics();
  if (onlyTenant === undefined) return text;
  return text.split('\n').filter((line) => {
    if (line.startsWith('#')) return true;
    const open = line.indexOf('{');
    if (open === -1) return true;
    const labels = line.slice(open + 1, line.lastIndexOf('}'));
    const m = /(?:^|,)tenant="([^"]*)"/.exec(labels);
    return m === null || m[1] === onlyTenant;
  }).join('\n');
}

export const METRICS_CONTENT_TYPE = registry.contentType;
