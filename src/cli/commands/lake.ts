import { Option, type Command } from 'commander';
import { dataPaths, lakeRetentionDays } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { LAKE_TABLES, type LakeTable } from '../../lake/layout.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { configFrom, dateOption, intOption, numberOption } from './common.ts';

/** The lake's code (DuckDB, the S3 client): loaded by these commands when they run, not at every CLI start. */
const lakeCode = async (): Promise<typeof import('../../lake/index.ts') & Pick<typeof import('../../objectstore/index.ts'), 'S3ObjectStore'>> => ({
  ...await import('../../lake/index.ts'),
  S3ObjectStore: (await import('../../objectstore/index.ts')).S3ObjectStore,
});

/** `compact`, `lake stats` and `lake retention`: housekeeping of the lake, wherever it lives (`--lake`). */
export function registerLake(program: Command): void {
  program
    .command('compact')
    .description('merge small Parquet files of each hour partition of each tenant: per stream partition while the hour is open, across partitions once it is closed (readers never see a partial state)')
    .addOption(new Option('--min-files <n>', 'compact a partition from this many files').argParser(intOption('--min-files', 2)))
    .addOption(new Option('--older-than <seconds>', 'only files older than this (the archiver is done with them); merged inputs are deleted once the merged file is this old').default(60).argParser(intOption('--older-than')))
    .action(async (o: { minFiles?: number; olderThan: number }, cmd: Command) => {
      const config = configFrom(cmd);
      const paths = dataPaths(config);
      const { withLakeStore, compactLake } = await lakeCode();
      await withLakeStore(paths.lake, async (store) => {
        for (const table of LAKE_TABLES) {
          const r = await compactLake(store, { table, minFiles: o.minFiles ?? config.archive.compactMinFiles, olderThanMs: o.olderThan * 1000, memoryLimit: config.archive.compactMemoryLimit, hourCompressionLevel: config.archive.compactionHourLevel, scratchDir: paths.lakeScratch });
          process.stdout.write(`${table}: ${JSON.stringify(r)}\n`);
        }
      });
    });

  const lake = program.command('lake').description('lake housekeeping: statistics and retention');

  lake
    .command('stats')
    .description('per table and tenant: hour partitions, files, rows, bytes, compression ratio (from Parquet footers; nothing is downloaded)')
    .addOption(new Option('--from <iso>', 'only hour partitions from this time').argParser(dateOption('--from')))
    .addOption(new Option('--to <iso>', 'only hour partitions up to this time').argParser(dateOption('--to')))
    .addOption(formatOption())
    .action(async (o: { from?: Date; to?: Date; format: OutputFormat }, cmd: Command) => {
      const paths = dataPaths(configFrom(cmd));
      const { lakeStats } = await lakeCode();
      const stats = await lakeStats(paths.lake, { range: { ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}) } });
      if (o.format === 'table') process.stdout.write(`lake: ${stats.location}\n`);
      printRows(stats.tables.map((t) => ({
        table: t.table, tenant: t.tenant, partitions: t.partitions, files: t.files, rows: t.rows, bytes: t.bytes, uncompressed_bytes: t.uncompressedBytes,
        compression_ratio: round(t.compressionRatio, 2), bytes_per_row: round(t.bytesPerRow, 1), oldest: t.oldest ?? null, newest: t.newest ?? null,
        hidden_files: t.hiddenFiles, hidden_bytes: t.hiddenBytes,
      })), o.format);
    });

  lake
    .command('retention')
    .description('delete hour partitions older than each table\'s retention (lake.reportsRetentionDays, lake.alertsRetentionDays)')
    .addOption(new Option('--dry-run', 'list what would be deleted, delete nothing'))
    .addOption(new Option('--reports-days <days>', 'retention of reports (default: lake.reportsRetentionDays)').argParser(numberOption('--reports-days')))
    .addOption(new Option('--alerts-days <days>', 'retention of alert events (default: lake.alertsRetentionDays)').argParser(numberOption('--alerts-days')))
    .addOption(formatOption())
    .action(async (o: { dryRun?: boolean; reportsDays?: number; alertsDays?: number; format: OutputFormat }, cmd: Command) => {
      const config = configFrom(cmd);
      const configured = lakeRetentionDays(config);
      const days: Partial<Record<LakeTable, number>> = {
        ...configured, ...(o.reportsDays !== undefined ? { reports: o.reportsDays } : {}), ...(o.alertsDays !== undefined ? { alerts: o.alertsDays } : {}),
      };
      if (Object.keys(days).length === 0) {
        throw new DwError('DW_CONFIG_INVALID', 'no retention configured: give --reports-days / --alerts-days or set lake.reportsRetentionDays / lake.alertsRetentionDays', { status: 400 });
      }
      const rows: Record<string, unknown>[] = [];
      const { withLakeStore, applyRetention } = await lakeCode();
      await withLakeStore(dataPaths(config).lake, async (store) => {
        for (const table of LAKE_TABLES) {
          const d = days[table];
          if (d === undefined) {
            process.stderr.write(`${table}: kept (no retention configured)\n`);
            continue;
          }
          const r = await applyRetention(store, { table, maxAgeDays: d, dryRun: o.dryRun === true });
          process.stderr.write(`${table}: ${o.dryRun ? 'would delete' : 'deleted'} ${r.partitions.length} hour partitions, ${r.files} files, ${r.bytes} bytes (before ${r.cutoff})\n`);
          for (const p of r.partitions) rows.push({ table, tenant: p.tenant, partition: p.dir, files: p.files, bytes: p.bytes, action: o.dryRun ? 'would delete' : 'deleted' });
        }
      });
      printRows(rows, o.format);
    });

  lake
    .command('uploads')
    .description('S3 lake: list the multipart uploads a crashed writer left unfinished (their parts cost storage, unseen); abort them, or have the bucket do it daily')
    .addOption(new Option('--abort-older-than <hours>', 'abort those started this many hours ago or more (a running upload is younger; 0 = all)').argParser(intOption('--abort-older-than')))
    .addOption(new Option('--lifecycle-days <n>', 'set the bucket lifecycle rule that aborts this prefix\'s unfinished uploads after n days').argParser(intOption('--lifecycle-days', 1)))
    .addOption(formatOption())
    .action(async (o: { abortOlderThan?: number; lifecycleDays?: number; format: OutputFormat }, cmd: Command) => {
      const config = configFrom(cmd);
      const { withLakeStore, S3ObjectStore } = await lakeCode();
      await withLakeStore(dataPaths(config).lake, async (store) => {
        if (!(store instanceof S3ObjectStore)) throw new DwError('DW_CONFIG_INVALID', `lake uploads: ${store.location} is not on S3 (a local lake has no multipart uploads)`, { status: 400 });
        if (o.lifecycleDays !== undefined) {
          const rules = await store.ensureAbortIncompleteUploadsRule(o.lifecycleDays);
          process.stderr.write(`bucket ${store.bucket}: lifecycle rules ${JSON.stringify(rules)}\n`);
        }
        const uploads = o.abortOlderThan !== undefined ? await store.abortIncompleteUploads(o.abortOlderThan * 3600_000) : await store.incompleteUploads();
        if (o.abortOlderThan !== undefined) process.stderr.write(`aborted ${uploads.length} unfinished uploads\n`);
        printRows(uploads.map((u) => ({ key: u.key, upload_id: u.uploadId, initiated: u.initiated?.toISOString() ?? null })), o.format);
      });
    });
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
