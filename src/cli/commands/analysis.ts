import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
// Light modules only at the top: the analysis service and the lake load DuckDB, imported by the actions that run a query.
import type { AnalysisService } from '../../analysis/service.ts';
import { EXPORT_FORMATS, type ExportFormat } from '../../analysis/export-formats.ts';
import { getStat, listStats, rangeOf, type StatParams } from '../../analysis/stats.ts';
import { dataPaths, type Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { formatResult } from '../../lake/format.ts';
import type { QueryCursor } from '../../lake/index.ts';
import { createProgressBar } from '../../util/progress.ts';
import { formatOption, type OutputFormat } from '../format.ts';
import { configWithTenant as commandConfig, intOption, numberOption, tenantOption, untilSignal } from './common.ts';
import { auditCli } from './audit-trail.ts';
import { openBackend, type Backend } from '../../backend/open.ts';
import type { SavedQueryStore } from '../../analysis/index.ts';

/** The analysis service of a CLI run; every command reads and writes `config.tenant`'s data only (--tenant). */
async function openAnalysis(config: Config, saved?: SavedQueryStore): Promise<AnalysisService> {
  const { AnalysisService } = await import('../../analysis/service.ts');
  const { lakeFilesFor } = await import('../../lake/index.ts');
  const paths = dataPaths(config);
  return new AnalysisService({ source: lakeFilesFor(paths.lake, { cacheDir: paths.lakeCache, cacheBytes: config.lake.cacheBytes }), config: config.analysis, ...(saved ? { saved } : {}) });
}

/** The deployment's backend when the command reads saved queries (they live where the backend keeps shared state). */
async function savedQueriesOf(config: Config, wanted: boolean): Promise<{ backend?: Backend; saved?: SavedQueryStore }> {
  if (!wanted) return {};
  const backend = await openBackend(config);
  try {
    return { backend, saved: await backend.savedQueries() };
  } catch (e) {
    await backend.close();
    throw e;
  }
}


const rangeOptions = (): Option[] => [
  new Option('--from <iso>', 'read only the hour partitions from this instant on (rows of the boundary hour before it may appear: filter on ts)'),
  new Option('--to <iso>', 'read only the hour partitions up to this instant (alert events: all after --from, for their latest state)'),
];

/** Runs `fn` with an AbortSignal that Ctrl-C (SIGINT/SIGTERM) fires: the query is interrupted, not the process killed. */
async function interruptible<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const sig = untilSignal();
  void sig.received.then(() => ac.abort());
  try {
    return await fn(ac.signal);
  } finally {
    sig.dispose();
  }
}

/** Prints a cursor: the table format needs every row for its column widths; CSV and JSON stream. */
async function printCursor(cursor: QueryCursor, format: OutputFormat): Promise<void> {
  if (format === 'table') {
    const rows: unknown[][] = [];
    for await (const batch of cursor) rows.push(...batch);
    process.stdout.write(formatResult({ columns: [...cursor.columns], rows }, 'table'));
  } else {
    const { encodeRows } = await import('../../analysis/encode.ts');
    for await (const text of encodeRows(cursor, format)) {
      if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
    }
  }
  if (cursor.truncated) process.stderr.write(`note: stopped at ${cursor.rowCount} rows (--limit); \`dronewatch export\` writes a whole result to a file\n`);
}

const limitOption = (): Option => new Option('--limit <rows>', 'print at most this many rows (default analysis.maxRows, 10000)').argParser(intOption('--limit', 1));
const timeoutOption = (): Option => new Option('--timeout <seconds>', 'interrupt the query after this long (default analysis.timeoutSeconds)').argParser(numberOption('--timeout'));

function withLimits(config: Config, o: { limit?: number; timeout?: number }, extraRows = false): Config {
  // Flags given on the command line raise the limits for this one run (the configuration caps API requests only).
  return {
    ...config,
    analysis: {
      ...config.analysis,
      ...(o.limit !== undefined || extraRows ? { maxRows: o.limit ?? config.analysis.maxRows } : {}),
      ...(o.timeout !== undefined ? { timeoutSeconds: o.timeout, exportTimeoutSeconds: o.timeout } : {}),
    },
  };
}

const EXTENSIONS: Record<string, ExportFormat> = { '.parquet': 'parquet', '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson' };

function exportFormatOf(file: string, explicit: string | undefined): ExportFormat {
  const f = explicit ?? EXTENSIONS[path.extname(file).toLowerCase()];
  if (!f || !(EXPORT_FORMATS as readonly string[]).includes(f)) {
    throw new DwError('DW_CONFIG_INVALID', `--out ${file}: cannot tell the format from the extension; name the file .parquet, .csv, .json or .ndjson, or give --format`, { status: 400 });
  }
  return f as ExportFormat;
}

/** `dronewatch stats` without a name: one line per statistic, its name padded so that the questions line up. */
export function statList(stats: readonly { name: string; description: string }[]): string {
  const width = Math.max(0, ...stats.map((s) => s.name.length));
  return stats.map((s) => `${s.name.padEnd(width)}  ${s.description}\n`).join('');
}

const tzOption = (): Option => new Option('--tz <zone>', 'statistics by hour or day: the time zone of the clock, an IANA name such as Europe/Paris (default UTC)');

export function registerAnalysis(program: Command): void {
  program
    .command('query <sql>')
    .description('run DuckDB SQL over the lake views `reports`, `sightings`, `words`, `alerts` and `alert_events`')
    .addOption(formatOption())
    .addOption(limitOption())
    .addOption(timeoutOption())
    .addOption(rangeOptions()[0]!)
    .addOption(rangeOptions()[1]!)
    .addOption(tenantOption())
    .action(async (sql: string, o: { format: OutputFormat; limit?: number; timeout?: number; from?: string; to?: string }, cmd: Command) => {
      const config = commandConfig(cmd);
      const range = rangeOf(o.from, o.to);
      auditCli(config, { action: 'query.run', details: { sql, from: o.from ?? null, to: o.to ?? null } });
      const analysis = await openAnalysis(withLimits(config, o));
      try {
        await interruptible(async (signal) => printCursor(await analysis.query(config.tenant, sql, { signal, range }), o.format));
      } finally {
        await analysis.close();
      }
    });

  program
    .command('stats [name]')
    .description('ready-made statistics over the lake; without a name, list them (see docs/analysis.md)')
    .addOption(new Option('--from <iso>', 'start of the period (inclusive; default: the whole lake)'))
    .addOption(new Option('--to <iso>', 'end of the period (exclusive; default: the whole lake)'))
    .addOption(new Option('--cell <degrees>', 'hotspots: grid cell size in degrees (default 0.005)'))
    .addOption(new Option('--minutes <n>', 'silent-drones: silence longer than this many minutes (default 10)'))
    .addOption(new Option('--limit <n>', 'top-* and other ranked statistics: number of rows (default 20)'))
    .addOption(tzOption())
    .addOption(formatOption())
    .addOption(timeoutOption())
    .addOption(tenantOption())
    .action(async (name: string | undefined, o: StatParams & { format: OutputFormat; timeout?: number; tenant?: string }, cmd: Command) => {
      if (name === undefined) {
        process.stdout.write(statList(listStats()));
        return;
      }
      getStat(name); // unknown names fail before the lake is opened
      const { format, timeout, tenant: _tenant, ...params } = o;
      const config = commandConfig(cmd);
      auditCli(config, { action: 'stat.run', target: name, details: { ...params } });
      const analysis = await openAnalysis(withLimits(config, { ...(timeout !== undefined ? { timeout } : {}) }));
      try {
        await interruptible(async (signal) => printCursor(await analysis.stat(config.tenant, name, params, { signal }), format));
      } finally {
        await analysis.close();
      }
    });

  program
    .command('export')
    .description('write the whole result of a query, statistic or saved query to a Parquet, CSV, JSON or JSON-lines file')
    .addOption(new Option('--sql <sql>', 'the query').conflicts(['stat', 'saved']))
    .addOption(new Option('--stat <name>', 'a ready-made statistic (with --from/--to/... as for `stats`)').conflicts(['saved']))
    .addOption(new Option('--saved <name>', 'a saved query (`dronewatch queries`)'))
    .addOption(new Option('-o, --out <file>', 'output file (required); the format comes from its extension (.parquet, .csv, .json, .ndjson/.jsonl)'))
    .addOption(new Option('--format <format>', 'output format, overriding the extension').choices(EXPORT_FORMATS))
    .addOption(new Option('--from <iso>', 'start of the period (inclusive), as for `stats` and `query`: only the hour partitions from then on are read'))
    .addOption(new Option('--to <iso>', 'end of the period (exclusive), as for `stats` and `query`: only the hour partitions up to then are read'))
    .addOption(new Option('--until <iso>').hideHelp())
    .addOption(new Option('--cell <degrees>', '--stat hotspots: cell size'))
    .addOption(new Option('--minutes <n>', '--stat silent-drones: minutes'))
    .addOption(new Option('--limit <n>', '--stat: rows of ranked statistics'))
    .addOption(tzOption())
    .addOption(timeoutOption())
    .addOption(tenantOption())
    .addOption(new Option('--no-progress', 'no progress display on stderr'))
    .action(async (o: { sql?: string; stat?: string; saved?: string; out?: string; to?: string; format?: ExportFormat; from?: string; until?: string; cell?: string; minutes?: string; limit?: string; tz?: string; timeout?: number; progress: boolean }, cmd: Command) => {
      // --to is the end of the period in every command; until this version `export` used it for the file.
      if (o.until !== undefined) throw new DwError('DW_CONFIG_INVALID', '--until is now --to (the end of the period, as for `stats` and `query`); the file is --out', { status: 400 });
      if (o.out === undefined) {
        const hint = o.to !== undefined && EXTENSIONS[path.extname(o.to).toLowerCase()] ? `; --to ${o.to} is the end of the period, so write --out ${o.to}` : '';
        throw new DwError('DW_CONFIG_INVALID', `export: give the output file with --out <file>${hint}`, { status: 400 });
      }
      const out = o.out;
      const format = exportFormatOf(out, o.format);
      // Checked before the query runs: otherwise the error would name the hidden temporary file written beside it.
      if (!existsSync(path.dirname(path.resolve(out)))) throw new DwError('DW_CONFIG_INVALID', `--out ${out}: the directory ${path.dirname(path.resolve(out))} does not exist`, { status: 400 });
      const config = withLimits(commandConfig(cmd), { ...(o.timeout !== undefined ? { timeout: o.timeout } : {}) });
      const { backend, saved } = await savedQueriesOf(config, o.saved !== undefined);
      const analysis = await openAnalysis(config, saved);
      try {
        let sql: string;
        // A statistic's period is [from, to): its pruning stops before the hour starting at `to`.
        const range = o.stat !== undefined ? analysis.statRange({ from: o.from, to: o.to }) : rangeOf(o.from, o.to);
        if (o.sql !== undefined) sql = o.sql;
        else if (o.stat !== undefined) sql = analysis.statSql(o.stat, { from: o.from, to: o.to, cell: o.cell, minutes: o.minutes, limit: o.limit, tz: o.tz });
        else if (o.saved !== undefined) sql = analysis.saved!.get(config.tenant, o.saved).sql;
        else throw new DwError('DW_CONFIG_INVALID', 'export: give one of --sql, --stat or --saved', { status: 400 });
        auditCli(config, { action: 'export', target: o.stat ?? o.saved ?? null, details: { sql, format, out: path.resolve(out), from: o.from ?? null, to: o.to ?? null } });
        const unit = format === 'parquet' ? 'bytes' : 'rows';
        const bar = o.progress ? createProgressBar(process.stderr, 0, `export ${path.basename(out)} (${unit})`) : undefined;
        const r = await interruptible((signal) => analysis.exportToFile(config.tenant, sql, path.resolve(out), format, {
          signal,
          range,
          ...(bar ? { onProgress: (p) => bar.update(format === 'parquet' ? p.bytes : (p.rows ?? 0)) } : {}),
        }));
        bar?.done();
        process.stdout.write(`${out}: ${r.rows.toLocaleString('en-US')} rows, ${r.bytes.toLocaleString('en-US')} bytes (${format})\n`);
      } finally {
        await analysis.close();
        await backend?.close();
      }
    });

  const queries = program.command('queries').description('saved queries: named SQL to keep and re-run, per tenant (also over HTTP: /v1/queries)')
    .addOption(tenantOption());
  const withSaved = async <T>(cmd: Command, fn: (a: AnalysisService, tenant: string) => Promise<T>): Promise<T> => {
    const config = commandConfig(cmd);
    const { backend, saved } = await savedQueriesOf(config, true);
    const analysis = await openAnalysis(config, saved);
    try {
      return await fn(analysis, config.tenant);
    } finally {
      await analysis.close();
      await backend?.close();
    }
  };
  queries.command('list').description('list saved queries').addOption(formatOption()).action(async (o: { format: OutputFormat }, cmd: Command) => {
    await withSaved(cmd, async (a, tenant) => {
      const rows = a.saved!.list(tenant).map((q) => [q.name, q.description, q.updatedAt, q.sql.replace(/\s+/g, ' ')]);
      process.stdout.write(formatResult({ columns: ['name', 'description', 'updated_at', 'sql'], rows }, o.format));
    });
  });
  queries.command('show <name>').description('print a saved query\'s SQL').action(async (name: string, _o: object, cmd: Command) => {
    await withSaved(cmd, async (a, tenant) => {
      process.stdout.write(`${a.saved!.get(tenant, name).sql}\n`);
    });
  });
  queries.command('save <name> <sql>').description('save a query (checked against the lake first)')
    .addOption(new Option('--description <text>', 'what it answers'))
    .addOption(new Option('--replace', 'overwrite a saved query of that name'))
    .action(async (name: string, sql: string, o: { description?: string; replace?: boolean }, cmd: Command) => {
      await withSaved(cmd, async (a, tenant) => {
        await a.validate(tenant, sql);
        const q = await a.saved!.save(tenant, { name, sql, description: o.description }, { replace: o.replace === true });
        process.stdout.write(`saved ${q.name}\n`);
      });
    });
  queries.command('run <name>').description('run a saved query').addOption(formatOption()).addOption(limitOption()).addOption(timeoutOption())
    .addOption(rangeOptions()[0]!).addOption(rangeOptions()[1]!)
    .action(async (name: string, o: { format: OutputFormat; limit?: number; timeout?: number; from?: string; to?: string }, cmd: Command) => {
      const config = commandConfig(cmd);
      const range = rangeOf(o.from, o.to);
      const { backend, saved } = await savedQueriesOf(config, true);
      const analysis = await openAnalysis(withLimits(config, o), saved);
      try {
        const { sql } = analysis.saved!.get(config.tenant, name);
        auditCli(config, { action: 'saved-query.run', target: name, details: { sql, from: o.from ?? null, to: o.to ?? null } });
        await interruptible(async (signal) => printCursor(await analysis.query(config.tenant, sql, { signal, range }), o.format));
      } finally {
        await analysis.close();
        await backend?.close();
      }
    });
  queries.command('delete <name>').description('delete a saved query').action(async (name: string, _o: object, cmd: Command) => {
    await withSaved(cmd, async (a, tenant) => {
      await a.saved!.delete(tenant, name);
      process.stdout.write(`deleted ${name}\n`);
    });
  });
}
