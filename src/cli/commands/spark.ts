import { spawn } from 'node:child_process';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { listStats, statSql, type StatParams } from '../../analysis/stats.ts';
import { dataPaths } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { findSpark, sparkStatsArgs, SPARK_INSTALL_HINT } from '../../testkit/spark.ts';
import { auditCli } from './audit-trail.ts';
import { configWithTenant, tenantOption } from './common.ts';

/**
 * The lake's location as Spark's Hadoop file systems name it: a local directory as is, `s3://bucket/prefix` as
 * `s3a://bucket/prefix` (Hadoop's S3 client; endpoint and credentials from spark.hadoop.fs.s3a.*), `webhdfs://` as is
 * (refused by webHdfsRefusal before anything starts). `--spark-lake` overrides it, e.g. with the NameNode's RPC
 * address `hdfs://nn:8020/lake`.
 */
export function sparkLakeLocation(lake: string): string {
  if (lake.startsWith('s3://')) return `s3a://${lake.slice(5)}`;
  if (lake.startsWith('webhdfs://')) return lake;
  return path.resolve(lake);
}

/**
 * Why Spark cannot be given `lake`, when it is a webhdfs:// URL: pyspark's shaded Hadoop client lacks the Jersey
 * runtime its WebHDFS file system needs, so the job could only fail, after a JVM start of several seconds (the job
 * itself says so too, for spark-submit). The message names the hdfs:// (RPC) address of the same NameNode, on Hadoop's
 * default RPC port: the RPC port is not derivable from the HTTP one, so the user must check it.
 */
export function webHdfsRefusal(lake: string, option: '--lake' | '--spark-lake'): string | undefined {
  if (!/^webhdfs:\/\//i.test(lake)) return undefined;
  let host = '<namenode>';
  let dir = '/<path>';
  try {
    const u = new URL(lake);
    host = u.hostname || host;
    dir = u.pathname && u.pathname !== '/' ? u.pathname.replace(/\/+$/, '') : dir;
  } catch { /* keep the placeholders: the location is checked elsewhere, this only words the advice */ }
  const where = option === '--lake' ? 'the configured lake' : '--spark-lake';
  return `${where} is ${lake}: Spark cannot read webhdfs:// (pyspark's bundled Hadoop client lacks WebHDFS's Jersey runtime). `
    + `Give Spark the hdfs:// (RPC) address of the same NameNode: --spark-lake hdfs://${host}:8020${dir} `
    + '(8020 is the default dfs.namenode.rpc-address port; docs/analysis.md, "Spark on an HDFS lake")';
}

export function registerSpark(program: Command): void {
  program
    .command('spark <stat...>')
    .description('run ready-made statistics (names, or `all`) on Spark over the live files of the lake; answers as CSV or Parquet under --out (docs/analysis.md, "Spark")')
    .requiredOption('--out <dir>', 'directory (or Hadoop URL) of the answers: <out>/<stat>/part-*.csv|parquet')
    .addOption(new Option('--from <iso>', 'start of the period (inclusive; default: the whole lake)'))
    .addOption(new Option('--to <iso>', 'end of the period (exclusive; default: the whole lake)'))
    .addOption(new Option('--cell <degrees>', 'hotspots: grid cell size in degrees (default 0.005)'))
    .addOption(new Option('--minutes <n>', 'silent-drones: silence longer than this many minutes (default 10)'))
    .addOption(new Option('--limit <n>', 'ranked statistics: number of rows (default 20)'))
    .addOption(new Option('--tz <zone>', 'IANA time zone of the hours and days (default UTC)'))
    .addOption(new Option('--format <format>', 'answer files').choices(['csv', 'parquet']).default('csv'))
    .addOption(new Option('--master <url>', 'Spark master: local[N], yarn, spark://host:7077 (default local[2])').default('local[2]'))
    .addOption(new Option('--spark-lake <url>', 'the lake as Spark reads it, when not the configured lake (e.g. hdfs://namenode:8020/lake)'))
    .addOption(new Option('--counts', 'also write <out>/table-counts: rows of every view'))
    .addOption(tenantOption())
    .action(async (stats: string[], o: StatParams & { out: string; format: 'csv' | 'parquet'; master: string; sparkLake?: string; counts?: boolean; tenant?: string }, cmd: Command) => {
      const { out, format, master, sparkLake, counts, tenant: _tenant, ...params } = o;
      const names = stats.length === 1 && stats[0] === 'all' ? listStats().map((s) => s.name) : stats;
      // Every name and parameter is checked as `dronewatch stats` checks them before a JVM starts; the job checks
      // them again (it also runs on its own, from spark-submit). An option a statistic does not take is refused
      // when one statistic is named, ignored for `all`.
      for (const n of names) {
        const own = listStats().find((s) => s.name === n)?.options ?? [];
        statSql(n, names.length === 1 ? params : { from: params.from, to: params.to, ...Object.fromEntries(own.map((k) => [k, params[k]])) });
      }
      const config = configWithTenant(cmd);
      const lake = sparkLake ?? sparkLakeLocation(dataPaths(config).lake);
      // Before findSpark, which already runs the venv's Python and `java -version`: nothing starts for a lake Spark cannot read.
      const refusal = webHdfsRefusal(lake, sparkLake === undefined ? '--lake' : '--spark-lake');
      if (refusal) throw new DwError('DW_CONFIG_INVALID', refusal, { status: 400 });
      const found = findSpark();
      if ('missing' in found) throw new DwError('DW_CONFIG_INVALID', `Spark is not available (${found.missing}); install it with ${SPARK_INSTALL_HINT}`, { status: 400 });
      auditCli(config, { action: 'stat.run', target: names.join(','), details: { ...params, engine: 'spark' } });
      const args = sparkStatsArgs({
        lake, tenant: config.tenant, out: /^[a-z0-9]+:\/\//.test(out) ? out : path.resolve(out),
        format, master, stats: names, ...(counts ? { counts } : {}),
        ...Object.fromEntries(Object.entries(params).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v])),
      });
      const code = await new Promise<number>((resolve, reject) => {
        const child = spawn(found.python, args, { stdio: 'inherit' });
        child.on('error', reject);
        child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      });
      if (code !== 0) throw new DwError('DW_QUERY_FAILED', `the Spark job failed (exit ${code})`, { status: 500 });
    });
}
