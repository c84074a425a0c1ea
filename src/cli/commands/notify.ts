import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { openNotifyStore } from '../../notify/open.ts';
import { NotifyService, redact } from '../../notify/service.ts';
import type { DeliveryStatus } from '../../notify/types.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { auditCli } from './audit-trail.ts';
import { withBackend } from './backend.ts';
import { configWithTenant, dateOption, intOption, tenantOption } from './common.ts';
import { cliActor } from './security.ts';

/** The notification policies and delivery log of the deployment's backend (beside its alert state, as the API's). */
async function withNotify<T>(config: Config, fn: (s: NotifyService) => Promise<T>): Promise<T> {
  return withBackend(config, async (backend) => {
    const store = await openNotifyStore(await backend.alertState(), config.notifications);
    try {
      return await fn(new NotifyService(store, config.alerts.webhooks, config.notifications.allowedUrlPrefixes));
    } finally {
      await store.close();
    }
  });
}

/** A policy file: JSON `{ "targets": [...], "routes": [...] }` (what `notify show` prints is accepted too). */
function readPolicyFile(file: string): { targets: unknown; routes: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DwError('DW_CONFIG_INVALID', `${file}: cannot read it (${(e as Error).message})`, { status: 400 });
  }
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    return { targets: doc.targets, routes: doc.routes };
  } catch (e) {
    throw new DwError('DW_NOTIFY_INVALID', `${file}: not JSON (${(e as Error).message})`, { status: 400, details: [{ field: '', reason: 'not JSON' }] });
  }
}

const STATUSES: readonly DeliveryStatus[] = ['delivered', 'retrying', 'failed', 'dropped'];

export function registerNotify(program: Command): void {
  const notify = program.command('notify').description('notification policies: who hears of which alerts, repeats, escalation; the delivery log (docs/alerts.md, "Notifications")');

  // The version is an argument: --version is the program's own flag.
  notify.command('show [version]').description('a version of the policy as JSON (default: the one in force; secrets never shown), usable by `notify apply`')
    .addOption(tenantOption())
    .action(async (version: string | undefined, _o: object, cmd: Command) => {
      const n = version === undefined ? undefined : intOption('version', 0)(version);
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'notify.read', details: { version: n ?? null } });
      await withNotify(config, async (s) => {
        const v = n === undefined ? await s.current(config.tenant) : await s.version(config.tenant, n);
        process.stdout.write(`${JSON.stringify(redact(v), null, 2)}\n`);
      });
    });

  notify.command('versions').description('every version: who changed the policy, when and why')
    .addOption(formatOption()).addOption(tenantOption())
    .action(async (o: { format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'notify.read', target: 'versions' });
      await withNotify(config, async (s) => {
        printRows((await s.versions(config.tenant)).map((v) => ({ version: v.version, at: v.at, author: v.author, targets: v.targets.length, routes: v.routes.length, reason: v.reason })), o.format);
      });
    });

  notify.command('apply <file>').description('make the policy of a JSON file the one in force (a new version)')
    .addOption(new Option('--reason <text>', 'why (kept with the version and in the audit log)').makeOptionMandatory())
    .addOption(new Option('--by <name>', 'the author of the change (default: cli:<OS user>)'))
    .addOption(new Option('--base-version <n>', 'refuse if the policy changed since this version').argParser(intOption('--base-version', 0)))
    .addOption(tenantOption())
    .action(async (file: string, o: { reason: string; by?: string; baseVersion?: number }, cmd: Command) => {
      const config = configWithTenant(cmd);
      const policy = readPolicyFile(file);
      const routes = Array.isArray(policy.routes) ? policy.routes : [];
      auditCli(config, { action: 'notify.change', details: { reason: o.reason, file, routes } });
      await withNotify(config, async (s) => {
        const v = await s.apply(config.tenant, policy, { author: o.by ?? cliActor(), reason: o.reason, baseVersion: o.baseVersion });
        process.stdout.write(`version ${v.version} of the notification policy of ${v.tenant} is in force (${v.targets.length} targets, ${v.routes.length} routes)\n`);
      });
    });

  notify.command('deliveries').description('the delivery log: every attempt, newest first (alert ids and target ids only)')
    .option('--alert <id>', 'one alert\'s').option('--incident <id>', 'one incident\'s')
    .addOption(new Option('--status <status>', 'only these').choices([...STATUSES]))
    .addOption(new Option('--since <time>', 'from this time').argParser(dateOption('--since')))
    .addOption(new Option('--limit <n>', 'at most this many (1-1000)').argParser(intOption('--limit', 1)).default(100))
    .addOption(formatOption()).addOption(tenantOption())
    .action(async (o: { alert?: string; incident?: string; status?: DeliveryStatus; since?: Date; limit: number; format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'notify.deliveries', details: { alertId: o.alert ?? null, status: o.status ?? null, since: o.since?.toISOString() ?? null } });
      await withNotify(config, async (s) => {
        const rows = await s.deliveries({
          tenant: config.tenant, limit: o.limit,
          ...(o.alert !== undefined ? { alertId: o.alert } : {}), ...(o.incident !== undefined ? { incidentId: o.incident } : {}), ...(o.status !== undefined ? { status: o.status } : {}), ...(o.since ? { since: o.since.getTime() } : {}),
        });
        printRows(rows.map((d) => ({ at: d.at, alert: d.alertId ?? null, incident: d.incidentId ?? null, kind: d.kind, route: d.route, target: d.target, attempt: d.attempt, status: d.status, http: d.httpStatus ?? null, error: d.error ?? null })), o.format);
      });
    });
}
