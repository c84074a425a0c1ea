import { Option, type Command } from 'commander';
import { UnknownTopicError } from '../../errors/index.ts';
import { TOPICS } from '../../stream/index.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { configWithTenant, tenantOption } from './common.ts';
import { withBackend } from './backend.ts';

/**
 * `stream groups`: the consumer groups of each topic and how far behind they are, for the operator (is the pipeline
 * keeping up? which groups exist?). Reads the stream only: no group is joined, nothing is committed.
 */
export function registerStream(program: Command): void {
  const stream = program.command('stream').description('the stream itself: topics and consumer groups');
  stream.command('groups').description('consumer groups of each topic with their lag (records not yet processed)')
    .addOption(new Option('--topic <topic>', 'only this topic').choices(Object.values(TOPICS)))
    .addOption(tenantOption())
    .addOption(formatOption())
    .action(async (o: { topic?: string; format: OutputFormat }, cmd: Command) => {
      const config = configWithTenant(cmd);
      await withBackend(config, async (backend) => {
        const s = await backend.stream();
        const rows: Record<string, unknown>[] = [];
        for (const topic of o.topic ? [o.topic] : Object.values(TOPICS)) {
          // A topic nobody created yet has no groups.
          const groups = await s.groups(topic).catch((e: unknown) => {
            if (e instanceof UnknownTopicError) return [] as string[];
            throw e;
          });
          for (const group of groups) {
            const lag = await s.lag(topic, group);
            rows.push({
              topic, group, lag: lag.reduce((n, l) => n + l.lag, 0),
              partitions_behind: lag.filter((l) => l.lag > 0).length, partitions: lag.length,
            });
          }
        }
        printRows(rows, o.format);
      });
    });
}
