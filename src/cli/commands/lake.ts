import { Option, type Command } from 'commander';
import { dataPaths } from '../../config/index.ts';
import { compactLake } from '../../lake/index.ts';
import { configFrom, intOption } from './common.ts';

export function registerLake(program: Command): void {
  program
    .command('compact')
    .description('merge small Parquet files of each hour partition into one (readers never see a partial state)')
    .addOption(new Option('--min-files <n>', 'compact a partition from this many files').argParser(intOption('--min-files', 2)))
    .addOption(new Option('--older-than <seconds>', 'only files older than this (the archiver is done with them)').default(60).argParser(intOption('--older-than')))
    .action(async (o: { minFiles?: number; olderThan: number }, cmd: Command) => {
      const config = configFrom(cmd);
      const lakeRoot = dataPaths(config).lake;
      for (const table of ['reports', 'alerts'] as const) {
        const r = await compactLake(lakeRoot, { table, minFiles: o.minFiles ?? config.archive.compactMinFiles, olderThanMs: o.olderThan * 1000 });
        process.stdout.write(`${table}: ${JSON.stringify(r)}\n`);
      }
    });
}
