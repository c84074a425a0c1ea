import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { dataPaths, type Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { openRules, rulesConfigOf, type PlatformRules } from '../../rules/platform.ts';
import type { Rule, Silence } from '../../rules/types.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { auditCli } from './audit-trail.ts';
import { withBackend } from './backend.ts';
import { configWithTenant, dateOption, intOption, tenantOption } from './common.ts';
import { cliActor } from './security.ts';

/** The rules of the deployment's backend (beside its alert state, as the API's), for one command. */
async function withRules<T>(config: Config, fn: (r: PlatformRules) => Promise<T>): Promise<T> {
  return withBackend(config, async (backend) => {
    const rules = await openRules(await backend.alertState(), rulesConfigOf(config), { follow: false });
    try {
      return await fn(rules);
    } finally {
      await rules.close();
    }
  });
}

/** A rule set file: JSON `{ "rules": [...], "zones": [...] }` (what `rules show` prints, which is also accepted). */
export function readRuleFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new DwError('DW_CONFIG_INVALID', `${file}: cannot read it (${(e as Error).message})`, { status: 400 });
  }
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    return { rules: doc.rules, zones: doc.zones ?? [] };
  } catch (e) {
    throw new DwError('DW_RULES_INVALID', `${file}: not JSON (${(e as Error).message})`, { status: 400, details: [{ field: '', reason: 'not JSON' }] });
  }
}

const byOption = (): Option => new Option('--by <name>', 'the author of the change (default: cli:<OS user>)');
const reasonOption = (): Option => new Option('--reason <text>', 'why (kept with the version and in the audit log)').makeOptionMandatory();

export function registerRules(program: Command): void {
  const rules = program.command('rules').description("the alert rules as data: versions, zones (docs/alerts.md, \"Rules\")");

  rules.command('list').description('the rules in force')
    .addOption(formatOption()).addOption(tenantOption())
    .action(async (o: { format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'rules.read' });
      await withRules(config, async (r) => {
        const v = await r.service.current(config.tenant);
        printRows(v.rules.map((x) => ruleRow(x, v.version)), o.format);
      });
    });

  // The version is an argument: --version is the program's own flag.
  rules.command('show [version]').description('a version of the rules as JSON (default: the one in force), usable by `rules apply`')
    .addOption(tenantOption())
    .action(async (version: string | undefined, _o: object, cmd: Command) => {
      const n = version === undefined ? undefined : intOption('version', 1)(version);
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'rules.read', details: { version: n ?? null } });
      await withRules(config, async (r) => {
        const v = n === undefined ? await r.service.current(config.tenant) : await r.service.version(config.tenant, n);
        process.stdout.write(`${JSON.stringify(v, null, 2)}\n`);
      });
    });

  rules.command('versions').description('every version: who changed the rules, when and why')
    .addOption(formatOption()).addOption(tenantOption())
    .action(async (o: { format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'rules.read', target: 'versions' });
      await withRules(config, async (r) => {
        printRows((await r.service.versions(config.tenant)).map((v) => ({ version: v.version, at: v.at, author: v.author, rules: v.rules.length, zones: v.zones.length, reason: v.reason })), o.format);
      });
    });

  rules.command('apply <file>').description('make the rule set of a JSON file the rules in force (a new version)')
    .addOption(reasonOption()).addOption(byOption())
    .addOption(new Option('--base-version <n>', 'refuse if the rules changed since this version').argParser(intOption('--base-version', 0)))
    .addOption(tenantOption())
    .action(async (file: string, o: { reason: string; by?: string; baseVersion?: number }, cmd: Command) => {
      const config = configWithTenant(cmd);
      const set = readRuleFile(file);
      auditCli(config, { action: 'rules.change', details: { reason: o.reason, file, ...(set as object) } });
      await withRules(config, async (r) => {
        const v = await r.service.apply(config.tenant, set, { author: o.by ?? cliActor(), reason: o.reason, baseVersion: o.baseVersion });
        process.stdout.write(`version ${v.version} of the rules of ${v.tenant} is in force (${v.rules.length} rules, ${v.zones.length} zones)\n`);
      });
    });

  rules.command('disable <ruleId>').description('disable one rule (a new version in which it is kept but never fires)')
    .addOption(reasonOption()).addOption(byOption()).addOption(tenantOption())
    .action(async (id: string, o: { reason: string; by?: string }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'rules.change', target: id, details: { reason: o.reason, disable: true } });
      await withRules(config, async (r) => {
        const v = await r.service.disableRule(config.tenant, id, { author: o.by ?? cliActor(), reason: o.reason });
        process.stdout.write(`rule ${id} disabled: version ${v.version} of the rules of ${v.tenant} is in force\n`);
      });
    });

  const silences = program.command('silences').description('silences: alerts of a zone, a drone or a citizen stored but not announced, for a time');
  silences.command('list').description("the tenant's silences")
    .addOption(formatOption()).addOption(tenantOption())
    .action(async (o: { format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'silence.read' });
      await withRules(config, async (r) => printRows((await r.service.listSilences(config.tenant)).map(silenceRow), o.format));
    });

  silences.command('add').description('silence alerts of one zone, drone or citizen until --until')
    .option('--zone <id>', 'a zone of the rules in force').option('--drone <id>').option('--citizen <name>')
    .addOption(new Option('--from <time>', 'start (default: now)').argParser(dateOption('--from')))
    .addOption(new Option('--until <time>', 'end (required)').argParser(dateOption('--until')).makeOptionMandatory())
    .addOption(reasonOption()).addOption(byOption()).addOption(tenantOption())
    .action(async (o: { zone?: string; drone?: string; citizen?: string; from?: Date; until: Date; reason: string; by?: string }, cmd: Command) => {
      const given = ([['zone', o.zone], ['drone', o.drone], ['citizen', o.citizen]] as const).filter(([, v]) => v !== undefined);
      if (given.length !== 1) throw new DwError('DW_CONFIG_INVALID', 'silences add: give exactly one of --zone, --drone, --citizen', { status: 400 });
      const [kind, value] = given[0]!;
      const config = configWithTenant(cmd);
      const input = { match: { kind, value: value! }, ...(o.from ? { startsAt: o.from.toISOString() } : {}), endsAt: o.until.toISOString(), reason: o.reason };
      auditCli(config, { action: 'silence.add', details: input });
      await withRules(config, async (r) => {
        const s = await r.service.addSilence(config.tenant, input, o.by ?? cliActor());
        process.stdout.write(`silence ${s.id}: ${s.match.kind} ${s.match.value} from ${s.startsAt} until ${s.endsAt}\n`);
      });
    });

  silences.command('remove <id>').description('end a silence now')
    .addOption(tenantOption())
    .action(async (id: string, _o: object, cmd: Command) => {
      const config = configWithTenant(cmd);
      auditCli(config, { action: 'silence.remove', target: id });
      await withRules(config, async (r) => {
        await r.service.removeSilence(config.tenant, id);
        process.stdout.write(`silence ${id} removed\n`);
      });
    });

  registerRulesTest(rules);
}

function ruleRow(r: Rule, version: number): Record<string, unknown> {
  return {
    version, id: r.id, kind: r.kind, enabled: r.enabled,
    threshold: r.kind === 'zone-entry' ? null : r.threshold,
    critical_threshold: r.kind === 'score' ? r.criticalThreshold : null,
    severity: r.kind === 'score' ? null : r.severity,
    zone: r.zone ?? null,
    words: r.kind === 'words' ? r.words.join(' ') : null,
    citizens: r.kind === 'zone-entry' ? r.citizens.length : null,
  };
}

function silenceRow(s: Silence): Record<string, unknown> {
  return { id: s.id, match: s.match.kind, value: s.match.value, starts_at: s.startsAt, ends_at: s.endsAt, author: s.author, reason: s.reason };
}

/**
 * `rules test FILE --from --to`: the dry run (src/rules/dry-run.ts) over this host's lake, in the analysis limits of
 * the configuration. Progress (reports replayed) goes to stderr every 10,000 reports; the answer to stdout.
 */
function registerRulesTest(rules: Command): void {
  rules.command('test <file>').description('replay the rule set of a JSON file over the lake\'s reports of a period: what it would have raised vs the rules in force (raises nothing)')
    .addOption(new Option('--from <time>', 'start of the period').argParser(dateOption('--from')).makeOptionMandatory())
    .addOption(new Option('--to <time>', 'end of the period (default: now)').argParser(dateOption('--to')))
    .addOption(new Option('-f, --format <format>', 'output format').choices(['table', 'json']).default('table'))
    .addOption(tenantOption())
    .action(async (file: string, o: { from: Date; to?: Date; format: 'table' | 'json' }, cmd: Command) => {
      const config = configWithTenant(cmd);
      const set = readRuleFile(file) as { rules: unknown; zones: unknown };
      const to = o.to ?? new Date();
      auditCli(config, { action: 'rules.dry-run', details: { file, from: o.from.toISOString(), to: to.toISOString(), ...set } });
      const { AnalysisService } = await import('../../analysis/service.ts');
      const { lakeFilesFor } = await import('../../lake/index.ts');
      const paths = dataPaths(config);
      const source = lakeFilesFor(paths.lake, { cacheDir: paths.lakeCache, cacheBytes: config.lake.cacheBytes });
      const analysis = new AnalysisService({ source, config: config.analysis });
      try {
        const r = await withRules(config, (x) => x.service.dryRun(analysis, config.tenant, { ...set, from: o.from.toISOString(), to: to.toISOString() }, {
          onProgress: (n) => process.stderr.write(`replayed ${n} reports\n`),
        }));
        if (o.format === 'json') {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${r.reports} reports from ${r.from} to ${r.to}, ${r.replayed} could alert (${r.elapsedMs} ms)\n`);
        process.stdout.write(`alerts: in force (version ${r.inForce.version}) ${r.inForce.alerts}, proposed ${r.proposed.alerts}\n`);
        process.stdout.write(`incidents: in force ${r.inForce.incidents.incidents}, proposed ${r.proposed.incidents.incidents}\n`);
        const rows = (key: 'perDay' | 'perZone', name: string): Record<string, unknown>[] =>
          [...new Set([r.inForce, r.proposed].flatMap((c) => [...Object.keys(c[key]), ...Object.keys(c.incidents[key])]))].sort().map((k) => ({
            [name]: k, in_force: r.inForce[key][k] ?? 0, proposed: r.proposed[key][k] ?? 0,
            incidents_in_force: r.inForce.incidents[key][k] ?? 0, incidents_proposed: r.proposed.incidents[key][k] ?? 0,
          }));
        printRows(rows('perDay', 'day'), 'table');
        printRows(rows('perZone', 'zone'), 'table');
      } finally {
        await analysis.close();
        await (source as { close?: () => Promise<void> | void }).close?.();
      }
    });
}
