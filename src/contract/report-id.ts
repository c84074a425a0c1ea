/**
 * The report id is derived, not random: `<droneId>:<epoch ms>`. The same (droneId, instant) always gives the
 * same id whatever the timestamp's textual form (`Z` vs `+00:00`, with or without milliseconds), which is what
 * makes retries idempotent. It is readable, sortable per drone and computable by any engine reading the lake.
 */
export function reportIdOf(droneId: string, epochMs: number): string {
  return `${droneId}:${epochMs}`;
}

export function parseReportId(id: string): { droneId: string; epochMs: number } | undefined {
  const i = id.lastIndexOf(':');
  if (i <= 0) return undefined;
  const epochMs = Number(id.slice(i + 1));
  if (!Number.isSafeInteger(epochMs)) return undefined;
  return { droneId: id.slice(0, i), epochMs };
}
