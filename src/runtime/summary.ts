/** The live one-line summary `dronewatch up` prints: rates computed from successive counter snapshots. */
export interface SummarySnapshot {
  at: number;
  reportsIngested: number;
  reportsRejected: number;
  alertsRaised: number;
  alertsOpen: number;
  lakeRows: number;
  lag: Record<string, number>;
}

export function formatSummary(prev: SummarySnapshot | undefined, cur: SummarySnapshot): string {
  const seconds = prev ? Math.max(0.001, (cur.at - prev.at) / 1000) : 1;
  const rate = prev ? Math.round((cur.reportsIngested - prev.reportsIngested) / seconds) : 0;
  const lag = Object.entries(cur.lag).map(([g, n]) => `${g} ${n}`).join(', ');
  return [
    `reports/s ${rate}`,
    `reports ${cur.reportsIngested}`,
    `rejected ${cur.reportsRejected}`,
    `alerts ${cur.alertsRaised} (open ${cur.alertsOpen})`,
    `lake rows ${cur.lakeRows}`,
    `lag ${lag || '-'}`,
  ].join(' | ');
}
