import { readdirSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Alert, AlertEvent, AlertEventType } from '../../src/alerts/types.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { LakeWriter } from '../../src/lake/index.ts';
import { recordsOf } from '../lake/helpers.ts';

/** The statistics over rule versions and silences (src/analysis/stats/): stats.test.ts lists them beside its own. */
export const RULE_VERSION_STATS = ['alerts-by-rule-version'] as const;

export const SCORE = 'score-below-threshold';
/** 2026-11-02 (a Monday) at hh:mm UTC; day 1 is 2026-11-03. Paris is UTC+1 then. */
export const at = (day: number, hh: number, mm = 0): number => Date.UTC(2026, 10, 2 + day, hh, mm);

/** One alert event; the alert's fields default to a raise of the score rule, at `when`, seen at `when` - 1 s. */
export function alertEvent(id: string, type: AlertEventType, when: number, extra: Partial<Alert> = {}, tenant = 'default'): AlertEvent {
  const alert: Alert = {
    alertId: id, tenant, droneId: `drone-${id}`, citizen: `citizen-${id}`, score: 8, severity: 'warning', rule: SCORE,
    position: { lat: 48.85, lon: 2.35 }, words: ['alpha'], firstReportId: `drone-${id}:${when - 1000}`, lastReportId: `drone-${id}:${when - 1000}`,
    firstSeenTs: when - 1000, lastSeenTs: when - 1000, raisedAt: when, updatedAt: when, occurrences: 1, status: 'open', assignee: null,
    acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null, ...extra,
  };
  return { eventId: `${id}#${type}`, type, at: when, by: type === 'raised' || type === 'updated' ? null : 'officer', alert };
}

/**
 * Alerts stored before issue 19 (the archiver wrote no rule_version, silenced, silence_id): two of citizen A on day 0,
 * one of B at 23:30 UTC on day 0 (day 1 in Paris).
 */
export const OLD_EVENTS: AlertEvent[] = [
  alertEvent('o1', 'raised', at(0, 9), { citizen: 'A' }),
  alertEvent('o2', 'raised', at(0, 9, 30), { citizen: 'A' }),
  alertEvent('o3', 'raised', at(0, 23, 30), { citizen: 'B' }),
];

/**
 * Alerts of rule set versions 1 (day 0) and 2 (day 1), some silenced; n4 raised by version 1's score rule then
 * escalated by version 2's zone rule (it stays version 1's: the statistic counts what raised); n8's raised event is
 * stored twice (a republished copy, NEW_COPIES); n10 is a report of day 0 replayed and raised at 23:30 UTC on day 1.
 */
export const NEW_EVENTS: AlertEvent[] = [
  // o1 acknowledged after the upgrade: a new file, but its raise (old file) decides its row.
  alertEvent('o1', 'acknowledged', at(0, 10), { citizen: 'A', status: 'acknowledged', acknowledgedBy: 'officer', acknowledgedAt: at(0, 10), updatedAt: at(0, 10), raisedAt: at(0, 9) }),
  alertEvent('n1', 'raised', at(0, 12), { citizen: 'C', ruleVersion: 1 }),
  alertEvent('n2', 'raised', at(0, 12, 10), { citizen: 'D', ruleVersion: 1, silenced: 'sil-1' }),
  alertEvent('n3', 'raised', at(0, 12, 20), { citizen: 'C', ruleVersion: 1, rule: 'words-bombe' }),
  alertEvent('n4', 'raised', at(0, 14), { citizen: 'C', ruleVersion: 1 }),
  alertEvent('n4', 'updated', at(0, 14, 5), { citizen: 'C', ruleVersion: 2, rule: 'near-cite', severity: 'critical', occurrences: 2, raisedAt: at(0, 14), updatedAt: at(0, 14, 5) }),
  alertEvent('n5', 'raised', at(1, 8), { citizen: 'E', ruleVersion: 2, silenced: 'sil-2' }),
  alertEvent('n6', 'raised', at(1, 8, 30), { citizen: 'E', ruleVersion: 2, silenced: 'sil-2' }),
  alertEvent('n7', 'raised', at(1, 9), { citizen: 'F', ruleVersion: 2, rule: 'near-cite' }),
  alertEvent('n8', 'raised', at(1, 9, 10), { citizen: 'G', ruleVersion: 2 }),
  alertEvent('n10', 'raised', at(1, 23, 30), { citizen: 'H', ruleVersion: 2, firstSeenTs: at(0, 10), lastSeenTs: at(0, 10) }),
];
export const NEW_COPIES: AlertEvent[] = [NEW_EVENTS.find((e) => e.alert.alertId === 'n8')!];
/** Another force's alert at the same time: in none of this tenant's answers. */
export const FOREIGN_EVENTS: AlertEvent[] = [alertEvent('x1', 'raised', at(0, 12), { citizen: 'C', ruleVersion: 1, silenced: 'sil-x' }, 'other')];

/**
 * Writes the fixture: the old events, then every alerts file rewritten without the three columns (what the archiver
 * wrote before them), then the new events and the copy in later batches. Local directory lakes only.
 */
export async function writeRuleVersionLake(lake: string): Promise<void> {
  let w = await LakeWriter.open(lake);
  try {
    await w.write('alerts', 0, recordsOf(OLD_EVENTS));
  } finally {
    await w.close();
  }
  await dropAddedColumns(lake);
  w = await LakeWriter.open(lake);
  try {
    await w.write('alerts', 0, recordsOf([...NEW_EVENTS, ...FOREIGN_EVENTS], OLD_EVENTS.length));
    await w.write('alerts', 1, recordsOf(NEW_COPIES));
  } finally {
    await w.close();
  }
}

const ADDED = ['rule_version', 'silenced', 'silence_id'];

async function dropAddedColumns(lake: string): Promise<void> {
  const duck = await openDuck();
  try {
    for (const f of parquetFiles(path.join(lake, 'alerts'))) {
      await duck.conn.run(`COPY (SELECT * EXCLUDE (${ADDED.join(', ')}) FROM read_parquet('${f}', hive_partitioning = false)) TO '${f}.old' (FORMAT parquet, COMPRESSION zstd)`);
      renameSync(`${f}.old`, f);
    }
  } finally {
    duck.close();
  }
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e.startsWith('_')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...parquetFiles(p));
    else if (e.endsWith('.parquet')) out.push(p);
  }
  return out;
}
