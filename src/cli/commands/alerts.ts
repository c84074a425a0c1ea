import { Option, type Command } from 'commander';
// The service module, not alerts/index.ts, which also loads the alert worker and its metrics (not needed here).
import { AlertService } from '../../alerts/service.ts';
import type { Alert } from '../../alerts/types.ts';
import type { Config } from '../../config/index.ts';
import { TOPICS, DEFAULT_TOPIC_CONFIG } from '../../stream/index.ts';
import { printRows, formatOption, type OutputFormat } from '../format.ts';
import { configFrom, configWithTenant, intOption, metricsPortOption, tenantOption } from './common.ts';
import { DwError, NotFoundError } from '../../errors/index.ts';
import { runService } from './run-service.ts';
import { auditCli } from './audit-trail.ts';
import { withBackend } from './backend.ts';

export function registerAlerts(program: Command): void {
  const alerts = program.command('alerts').description('the alert consumer (default: run it) and the alert lifecycle');

  alerts
    .command('run', { isDefault: true })
    .description('run the alert consumer: reports from the stream to alerts (store, live feed, alerts topic, webhooks)')
    .addOption(metricsPortOption())
    .action(async (_o: object, cmd: Command) => {
      const run = await runService('alerts', configFrom(cmd), { alerts: true }, { banner: () => 'alert consumer running; Ctrl-C stops' });
      await run.done;
    });

  alerts
    .command('list')
    .description('list alerts, newest first')
    .addOption(new Option('--status <status>', 'open, acknowledged or resolved').choices(['open', 'acknowledged', 'resolved']))
    .option('--drone <id>', 'only this drone')
    .addOption(new Option('--limit <n>', 'at most this many').default(50).argParser(intOption('--limit', 1)))
    .addOption(formatOption())
    .addOption(tenantOption())
    .action(async (o: { status?: 'open' | 'acknowledged' | 'resolved'; drone?: string; limit: number; format: OutputFormat }, cmd: Command) => {
      // The alert state the services use: local alerts.db, or the shared KV bucket in distributed mode.
      const config = configWithTenant(cmd);
      await withBackend(config, async (backend) => {
        const store = await backend.alertState();
        auditCli(config, { action: 'alert.list', details: { status: o.status ?? null, droneId: o.drone ?? null, limit: o.limit } });
        // The configured tenant's (`--tenant`), as every other view.
        const list = await store.list({ tenant: config.tenant, limit: o.limit, ...(o.status ? { status: o.status } : {}), ...(o.drone ? { droneId: o.drone } : {}) });
        printRows(list.map(alertRow), o.format);
      });
    });

  const change = (name: 'ack' | 'resolve' | 'assign', what: string): Command => alerts
    .command(`${name} <alertId>`)
    .description(what)
    .requiredOption('--by <name>', 'who makes the change')
    .addOption(tenantOption());
  change('ack', 'acknowledge an alert').option('--note <text>', 'note').action(async (id: string, o: { by: string; note?: string }, cmd: Command) => {
    const config = configWithTenant(cmd);
    auditCli(config, { action: 'alert.acknowledge', target: id, details: { by: o.by, note: o.note ?? null } });
    await withService(config, id, (s) => s.acknowledge(id, o.by, o.note));
  });
  change('resolve', 'resolve an alert').option('--note <text>', 'note').action(async (id: string, o: { by: string; note?: string }, cmd: Command) => {
    const config = configWithTenant(cmd);
    auditCli(config, { action: 'alert.resolve', target: id, details: { by: o.by, note: o.note ?? null } });
    await withService(config, id, (s) => s.resolve(id, o.by, o.note));
  });
  // --to is the end of a period in every command; the assignee used to be --to here.
  change('assign', 'assign an alert to an officer').addOption(new Option('--assignee <name>', 'the officer (required)')).addOption(new Option('--to <name>').hideHelp())
    .action(async (id: string, o: { by: string; assignee?: string; to?: string }, cmd: Command) => {
      if (o.assignee === undefined) throw new DwError('DW_CONFIG_INVALID', `alerts assign: give the officer with --assignee <name>${o.to !== undefined ? ` (--to is now --assignee: --to is the end of a period in every command)` : ''}`, { status: 400 });
      const assignee = o.assignee;
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'alert.assign', target: id, details: { by: o.by, assignee } });
      await withService(config, id, (s) => s.assign(id, assignee, o.by));
    });
}

/**
 * Lifecycle changes from the CLI go through the same AlertService as the API: store, then `alerts` topic. Only an
 * alert of the command's tenant (`--tenant`) can be changed, as over HTTP: another force's alert is "not found".
 */
async function withService(config: Config, alertId: string, fn: (s: AlertService) => Promise<{ alert: Alert }>): Promise<void> {
  await withBackend(config, async (backend) => {
    const store = await backend.alertState();
    const alert = await store.get(alertId);
    if (!alert || alert.tenant !== config.tenant) {
      throw new NotFoundError(`alert ${alertId} in tenant "${config.tenant}" (--tenant)`, 'DW_ALERT_NOT_FOUND');
    }
    const stream = await backend.stream();
    await stream.ensureTopic(TOPICS.alerts, { ...DEFAULT_TOPIC_CONFIG.alerts, partitions: config.stream.partitions });
    const { alert: changed } = await fn(new AlertService({ store, stream }));
    process.stdout.write(`${changed.alertId}: ${changed.status}${changed.assignee ? `, assigned to ${changed.assignee}` : ''}\n`);
  });
}

function alertRow(a: Alert): Record<string, unknown> {
  return {
    alert_id: a.alertId,
    status: a.status,
    severity: a.severity,
    citizen: a.citizen,
    score: a.score,
    drone_id: a.droneId,
    lat: a.position.lat,
    lon: a.position.lon,
    raised_at: new Date(a.raisedAt).toISOString(),
    occurrences: a.occurrences,
    assignee: a.assignee,
  };
}
