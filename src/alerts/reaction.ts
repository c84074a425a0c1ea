/** How long officers took to react to the alerts raised in a period (the dashboard's reaction-time panel). */
export interface ReactionTimes {
  /** The period: alerts raised in [from, to), epoch ms. */
  from: number;
  to: number;
  /** Alerts raised in the period, and how many of them are still open (neither acknowledged nor resolved). */
  alerts: number;
  open: number;
  /** raisedAt -> acknowledgedAt of the acknowledged ones. */
  toAcknowledge: DurationSummary;
  /** raisedAt -> resolvedAt of the resolved ones (acknowledged first or not). */
  toResolve: DurationSummary;
}

export interface DurationSummary {
  count: number;
  /** Milliseconds; null when count is 0. Quantiles are interpolated like DuckDB's quantile_cont (the lake's statistic). */
  p50Ms: number | null;
  p90Ms: number | null;
  meanMs: number | null;
  maxMs: number | null;
}

/** Summary of durations sorted ascending. */
export function summariseDurations(sorted: readonly number[]): DurationSummary {
  const n = sorted.length;
  if (n === 0) return { count: 0, p50Ms: null, p90Ms: null, meanMs: null, maxMs: null };
  let sum = 0;
  for (const v of sorted) sum += v;
  return { count: n, p50Ms: quantile(sorted, 0.5), p90Ms: quantile(sorted, 0.9), meanMs: sum / n, maxMs: sorted[n - 1]! };
}

/** Linear interpolation between the closest ranks (DuckDB quantile_cont, numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
