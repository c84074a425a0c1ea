import { Option, type Command } from 'commander';
import { AlertService } from '../../alerts/service.ts';
import type { Config } from '../../config/index.ts';
import { openIncidentState } from '../../backend/incidents.ts';
import type { Backend } from '../../backend/index.ts';
import { DwError } from '../../errors/index.ts';
import { cascadeToAlerts } from '../../incidents/cascade.ts';
import { IncidentNotFoundError } from '../../incidents/errors.ts';
import type { IncidentAction } from '../../incidents/lifecycle.ts';
import type { IncidentState } from '../../incidents/state.ts';
import type { Incident, IncidentStatus } from '../../incidents/types.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS } from '../../stream/index.ts';
import { printRows, formatOption, type OutputFormat } from '../format.ts';
import { auditCli } from './audit-trail.ts';
import { withBackend } from './backend.ts';
import { configWithTenant, intOption, tenantOption } from './common.ts';

const STATUSES: readonly IncidentStatus[] = ['open', 'acknowledged', 'resolved', 'merged'];

/** `dronewatch incidents list|show|ack|assign|resolve`: the CLI beside /v1/incidents (mirrors `alerts`), per --tenant, audited. */
export function registerIncidents(program: Command): void {
  const incidents = program.command('incidents').description('incidents: alerts grouped by place and time (docs/incidents.md)');

  incidents
    .command('list')
    .description('list incidents, latest activity first')
    .option('--status <list>', `comma-separated: ${STATUSES.join(', ')} (default: all)`)
    .option('--since <instant>', 'only incidents active at or after this ISO instant')
    .addOption(new Option('--limit <n>', 'at most this many').default(50).argParser(intOption('--limit', 1)))
    .addOption(formatOption())
    .addOption(tenantOption())
    .action(async (o: { status?: string; since?: string; limit: number; format: OutputFormat }, cmd: Command) => {
      const status = parseStatuses(o.status);
      const since = o.since === undefined ? undefined : parseInstant(o.since);
      const config = configWithTenant(cmd);
      await withIncidents(config, async (state) => {
        auditCli(config, { action: 'incident.list', details: { status: o.status ?? null, since: o.since ?? null, limit: o.limit } });
        const list = await state.list({ tenant: config.tenant, limit: Math.min(o.limit, 1000), ...(status ? { status } : {}), ...(since !== undefined ? { since } : {}) });
        printRows(list.map(incidentRow), o.format);
      });
    });

  incidents
    .command('show <incidentId>')
    .description('one incident: its summary, alerts and timeline')
    .addOption(formatOption())
    .addOption(tenantOption())
    .action(async (id: string, o: { format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      await withIncidents(config, async (state) => {
        auditCli(config, { action: 'incident.read', target: id });
        const rec = await state.get(id, config.tenant);
        if (!rec) throw new IncidentNotFoundError(id);
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify(rec, null, 2)}\n`);
          return;
        }
        printRows([incidentRow(rec.incident)], o.format);
        process.stdout.write('\nalerts:\n');
        printRows(rec.members.map((m) => ({
          alert_id: m.alertId, citizen: m.citizen, drone_id: m.droneId, score: m.score, severity: m.severity, lat: m.lat, lon: m.lon,
          last_seen: new Date(m.lastSeenTs).toISOString(),
        })), o.format);
        process.stdout.write('\ntimeline:\n');
        printRows(rec.timeline.map((t) => ({ at: new Date(t.at).toISOString(), type: t.type, by: t.by, alert_id: t.alertId ?? null, citizen: t.citizen ?? null, detail: t.detail ?? null })), o.format);
      });
    });

  const change = (name: 'ack' | 'resolve' | 'assign', what: string): Command => incidents
    .command(`${name} <incidentId>`)
    .description(what)
    .requiredOption('--by <name>', 'who makes the change')
    .addOption(tenantOption());
  change('ack', 'acknowledge an incident and its open alerts').option('--note <text>', 'note')
    .action(async (id: string, o: { by: string; note?: string }, cmd: Command) => {
      await act(configWithTenant(cmd), id, { action: 'acknowledge', note: o.note }, o.by, 'incident.acknowledge');
    });
  change('resolve', 'resolve an incident and its unresolved alerts').option('--note <text>', 'note')
    .action(async (id: string, o: { by: string; note?: string }, cmd: Command) => {
      await act(configWithTenant(cmd), id, { action: 'resolve', note: o.note }, o.by, 'incident.resolve');
    });
  change('assign', 'assign an incident and its unresolved alerts').requiredOption('--assignee <name>', 'the officer or team')
    .action(async (id: string, o: { by: string; assignee: string }, cmd: Command) => {
      await act(configWithTenant(cmd), id, { action: 'assign', assignee: o.assignee }, o.by, 'incident.assign');
    });
}

async function withIncidents<T>(config: Config, fn: (state: IncidentState, backend: Backend) => Promise<T>): Promise<T> {
  return withBackend(config, async (backend) => {
    const state = await openIncidentState(await backend.alertState(), config);
    try {
      return await fn(state, backend);
    } finally {
      await state.close();
    }
  });
}

/** The same path as the API: the incident's change, then its alerts' through AlertService (store, then `alerts` topic). */
async function act(config: Config, id: string, a: IncidentAction, by: string, action: 'incident.acknowledge' | 'incident.assign' | 'incident.resolve'): Promise<void> {
  await withIncidents(config, async (state, backend) => {
    auditCli(config, { action, target: id, details: { by, ...(a.action === 'assign' ? { assignee: a.assignee } : { note: a.note ?? null }), cascade: 'alerts' } });
    const event = await state.change(id, a, by, config.tenant);
    const rec = await state.get(id, config.tenant);
    const stream = await backend.stream();
    await stream.ensureTopic(TOPICS.alerts, { ...DEFAULT_TOPIC_CONFIG.alerts, partitions: config.stream.partitions });
    const alerts = new AlertService({ store: await backend.alertState(), stream });
    const { changed, unchanged } = await cascadeToAlerts(alerts, rec?.members.map((m) => m.alertId) ?? [], config.tenant, a, by);
    const i = event.incident;
    process.stdout.write(`${i.incidentId}: ${i.status}${i.assignee ? `, assigned to ${i.assignee}` : ''}; alerts changed ${changed}, unchanged ${unchanged}\n`);
  });
}

function parseStatuses(s: string | undefined): IncidentStatus[] | undefined {
  if (s === undefined) return undefined;
  const list = s.split(',').map((x) => x.trim());
  for (const x of list) {
    if (!STATUSES.includes(x as IncidentStatus)) {
      throw new DwError('DW_CONFIG_INVALID', `--status: "${x}" is not one of ${STATUSES.join(', ')}`, { status: 400, details: [{ field: '--status', reason: `not one of ${STATUSES.join(', ')}` }] });
    }
  }
  return list as IncidentStatus[];
}

function parseInstant(s: string): number {
  const t = Date.parse(s);
  if (Number.isNaN(t)) throw new DwError('DW_CONFIG_INVALID', `--since: "${s}" is not an ISO instant (e.g. 2026-12-06T08:00:00Z)`, { status: 400, details: [{ field: '--since', reason: 'not an ISO instant' }] });
  return t;
}

function incidentRow(i: Incident): Record<string, unknown> {
  return {
    incident_id: i.incidentId, status: i.status, severity: i.severity, citizens: i.citizenCount, alerts: i.alertCount, drones: i.droneCount,
    lat: Math.round(i.centroid.lat * 1e5) / 1e5, lon: Math.round(i.centroid.lon * 1e5) / 1e5, radius_m: i.radiusM, growing: i.growing,
    first_at: new Date(i.firstAt).toISOString(), last_at: new Date(i.lastAt).toISOString(), assignee: i.assignee, merged_into: i.mergedInto,
  };
}
