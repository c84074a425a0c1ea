import { Option, type Command } from 'commander';
import { TOPICS, DEFAULT_TOPIC_CONFIG } from '../../stream/index.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { configWithTenant, dateOption, intOption, tenantOption } from './common.ts';
import { auditCli } from './audit-trail.ts';
import { withBackend } from './backend.ts';

export function registerDeadLetters(program: Command): void {
  program
    .command('dead-letters')
    .description('list rejected reports: when, from where, why, and the raw bytes as received')
    .addOption(new Option('--limit <n>', 'at most this many, newest last').default(100).argParser(intOption('--limit', 1)))
    .addOption(new Option('--since <time>', 'only those received since').argParser(dateOption('--since')))
    .addOption(formatOption())
    .addOption(tenantOption())
    .action(async (o: { limit: number; since?: Date; format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      await withBackend(config, async (backend) => {
        const stream = await backend.stream();
        await stream.ensureTopic(TOPICS.deadLetters, DEFAULT_TOPIC_CONFIG.deadLetters);
        auditCli(config, { action: 'dead-letters.read', details: { limit: o.limit, since: o.since?.toISOString() ?? null } });
        const { listDeadLetters } = await import('../../ingest/index.ts');
        const letters = await listDeadLetters(stream, { limit: o.limit, tenant: config.tenant, ...(o.since ? { since: o.since.getTime() } : {}) });
        printRows(letters.map((l) => ({
          received_at: new Date(l.receivedAt).toISOString(),
          source: l.source,
          code: l.code,
          reason: l.reason,
          raw: o.format === 'json' ? Buffer.from(l.rawBase64, 'base64').toString('utf8') : truncate(Buffer.from(l.rawBase64, 'base64').toString('utf8'), 80),
        })), o.format);
      });
    });
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ');
  return one.length > n ? `${one.slice(0, n - 1)}…` : one;
}
