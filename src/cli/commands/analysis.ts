import { existsSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { AnalysisService, EXPORT_FORMATS, encodeRows, getStat, listStats, openSavedQueryStore, type ExportFormat, type StatParams } from '../../analysis/index.ts';
import { dataPaths, type Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { formatResult, lakeFilesFor, type QueryCursor } from '../../lake/index.ts';
import { createProgressBar } from '../../util/progress.ts';
import { formatOption, type OutputFormat } from '../format.ts';
import { configFrom, intOption, numberOption, untilSignal } from './common.ts';

function openAnalysis(config: Config, withSaved = false): AnalysisService {
  const paths = dataPaths(config);
  return new AnalysisService({ source: lakeFilesFor(paths.lake, { cacheDir: paths.lakeCache, cacheBytes: config.lake.cacheBytes }), config: config.analysis, ...(withSaved ? { saved: openSavedQueryStore(paths.dataDir) } : {}) });
}

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

function exportFormatOf(file: string, explicit: string | undefined): ExportFormat {
  const f = explicit ?? { '.parquet': 'parquet', '.csv': 'csv', '.json': 'json', '.ndjson': 'ndjson', '.jsonl': 'ndjson' }[path.extname(file).toLowerCase()];
  if (!f || !(EXPORT_FORMATS as readonly string[]).includes(f)) {
    throw new DwError('DW_CONFIG_INVALID', `--to ${file}: cannot tell the format from the extension; name the file .parquet, .csv, .json or .ndjson, or give --format`, { status: 400 });
  }
  return f as ExportFormat;
}

export function registerAnalysis(program: Command): void {
  program
    .command('query <sql>')
    .description('run DuckDB SQL over the lake views `reports`, `sightings`, `words`, `alerts` and `alert_events`')
    .addOption(formatOption())
    .addOption(limitOption())
    .addOption(timeoutOption())
    .action(async (sql: string, o: { format: OutputFormat; limit?: number; timeout?: number }, cmd: Command) => {
      const analysis = openAnalysis(withLimits(configFrom(cmd), o));
      try {
        await interruptible(async (signal) => printCursor(await analysis.query(sql, { signal }), o.format));
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
    .addOption(formatOption())
    .addOption(timeoutOption())
    .action(async (name: string | undefined, o: StatParams & { format: OutputFormat; timeout?: number }, cmd: Command) => {
      if (name === undefined) {
        for (const s of listStats()) process.stdout.write(`${s.name}  ${s.description}\n`);
        return;
      }
      getStat(name); // unknown names fail before the lake is opened
      const { format, timeout, ...params } = o;
      const analysis = openAnalysis(withLimits(configFrom(cmd), { ...(timeout !== undefined ? { timeout } : {}) }));
      try {
        await interruptible(async (signal) => printCursor(await analysis.stat(name, params, { signal }), format));
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
    .requiredOption('--to <file>', 'output file; the format comes from its extension (.parquet, .csv, .json, .ndjson/.jsonl)')
    .addOption(new Option('--format <format>', 'output format, overriding the extension').choices(EXPORT_FORMATS))
    .addOption(new Option('--from <iso>', '--stat: start of the period'))
    .addOption(new Option('--until <iso>', '--stat: end of the period (the statistic\'s --to)'))
    .addOption(new Option('--cell <degrees>', '--stat hotspots: cell size'))
    .addOption(new Option('--minutes <n>', '--stat silent-drones: minutes'))
    .addOption(new Option('--limit <n>', '--stat: rows of ranked statistics'))
    .addOption(timeoutOption())
    .addOption(new Option('--no-progress', 'no progress display on stderr'))
    .action(async (o: { sql?: string; stat?: string; saved?: string; to: string; format?: ExportFormat; from?: string; until?: string; cell?: string; minutes?: string; limit?: string; timeout?: number; progress: boolean }, cmd: Command) => {
      const format = exportFormatOf(o.to, o.format);
      // Checked before the query runs: otherwise the error would name the hidden temporary file written beside it.
      if (!existsSync(path.dirname(path.resolve(o.to)))) throw new DwError('DW_CONFIG_INVALID', `--to ${o.to}: the directory ${path.dirname(path.resolve(o.to))} does not exist`, { status: 400 });
      const config = withLimits(configFrom(cmd), { ...(o.timeout !== undefined ? { timeout: o.timeout } : {}) });
      const analysis = openAnalysis(config, o.saved !== undefined);
      try {
        let sql: string;
        if (o.sql !== undefined) sql = o.sql;
        else if (o.stat !== undefined) sql = analysis.statSql(o.stat, { from: o.from, to: o.until, cell: o.cell, minutes: o.minutes, limit: o.limit });
        else if (o.saved !== undefined) sql = analysis.saved!.get(o.saved).sql;
        else throw new DwError('DW_CONFIG_INVALID', 'export: give one of --sql, --stat or --saved', { status: 400 });
        const unit = format === 'parquet' ? 'bytes' : 'rows';
        const bar = o.progress ? createProgressBar(process.stderr, 0, `export ${path.basename(o.to)} (${unit})`) : undefined;
        const r = await interruptible((signal) => analysis.exportToFile(sql, path.resolve(o.to), format, {
          signal,
          ...(bar ? { onProgress: (p) => bar.update(format === 'parquet' ? p.bytes : (p.rows ?? 0)) } : {}),
        }));
        bar?.done();
        process.stdout.write(`${o.to}: ${r.rows.toLocaleString('en-US')} rows, ${r.bytes.toLocaleString('en-US')} bytes (${format})\n`);
      } finally {
        await analysis.close();
        analysis.saved?.close();
      }
    });

  const queries = program.command('queries').description('saved queries: named SQL to keep and re-run (also over HTTP: /v1/queries)');
  const withSaved = async <T>(cmd: Command, fn: (a: AnalysisService) => Promise<T>): Promise<T> => {
    const analysis = openAnalysis(configFrom(cmd), true);
    try {
      return await fn(analysis);
    } finally {
      await analysis.close();
      analysis.saved?.close();
    }
  };
  queries.command('list').description('list saved queries').addOption(formatOption()).action(async (o: { format: OutputFormat }, cmd: Command) => {
    await withSaved(cmd, async (a) => {
      const rows = a.saved!.list().map((q) => [q.name, q.description, q.updatedAt, q.sql.replace(/\s+/g, ' ')]);
      process.stdout.write(formatResult({ columns: ['name', 'description', 'updated_at', 'sql'], rows }, o.format));
    });
  });
  queries.command('show <name>').description('print a saved query\'s SQL').action(async (name: string, _o: object, cmd: Command) => {
    await withSaved(cmd, async (a) => {
      process.stdout.write(`${a.saved!.get(name).sql}\n`);
    });
  });
  queries.command('save <name> <sql>').description('save a query (checked against the lake first)')
    .addOption(new Option('--description <text>', 'what it answers'))
    .addOption(new Option('--replace', 'overwrite a saved query of that name'))
    .action(async (name: string, sql: string, o: { description?: string; replace?: boolean }, cmd: Command) => {
      await withSaved(cmd, async (a) => {
        await a.validate(sql);
        const q = a.saved!.save({ name, sql, description: o.description }, { replace: o.replace === true });
        process.stdout.write(`saved ${q.name}\n`);
      });
    });
  queries.command('run <name>').description('run a saved query').addOption(formatOption()).addOption(limitOption()).addOption(timeoutOption())
    .action(async (name: string, o: { format: OutputFormat; limit?: number; timeout?: number }, cmd: Command) => {
      const analysis = openAnalysis(withLimits(configFrom(cmd), o), true);
      try {
        const { sql } = analysis.saved!.get(name);
        await interruptible(async (signal) => printCursor(await analysis.query(sql, { signal }), o.format));
      } finally {
        await analysis.close();
        analysis.saved?.close();
      }
    });
  queries.command('delete <name>').description('delete a saved query').action(async (name: string, _o: object, cmd: Command) => {
    await withSaved(cmd, async (a) => {
      a.saved!.delete(name);
      process.stdout.write(`deleted ${name}\n`);
    });
  });
}
