import { summariseDurations } from '../alerts/reaction.ts';
import type { IncidentReactionTimes } from './state.ts';
import type { Incident } from './types.ts';

/** Reaction times of the incidents opened (wall clock, openedAt) in [from, to); merged ones are counted in their survivor. */
export function incidentReactionTimes(incidents: Iterable<Incident>, from: number, to: number, tenant?: string): IncidentReactionTimes {
  let n = 0;
  let open = 0;
  const ack: number[] = [];
  const res: number[] = [];
  for (const i of incidents) {
    if (i.status === 'merged' || i.openedAt < from || i.openedAt >= to) continue;
    if (tenant !== undefined && i.tenant !== tenant) continue;
    n++;
    if (i.status === 'open') open++;
    if (i.acknowledgedAt !== null) ack.push(i.acknowledgedAt - i.openedAt);
    if (i.resolvedAt !== null) res.push(i.resolvedAt - i.openedAt);
  }
  ack.sort((a, b) => a - b);
  res.sort((a, b) => a - b);
  return { from, to, incidents: n, open, toAcknowledge: summariseDurations(ack), toResolve: summariseDurations(res) };
}
