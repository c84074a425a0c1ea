import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { dataPaths } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
import { cellText, csvCell } from '../../lake/format.ts';
import type { AuditLog, AuditRecord } from '../../security/audit.ts';
import type { AuditRow } from '../../security/audit-parquet.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { configFrom, dateOption, intOption } from './common.ts';
import { cliActor, withAuditLog } from './security.ts';

/** The lake and the audit log's Parquet side (DuckDB): loaded by the commands that use them, not at every CLI start. */
const auditLake = async (): Promise<typeof import('../../security/index.ts') & typeof import('../../lake/index.ts')> => ({
  ...await import('../../security/index.ts'),
  ...await import('../../lake/index.ts'),
});
type AuditParquet = Pick<typeof import('../../security/audit-parquet.ts'), 'auditRow' | 'AUDIT_COLUMNS'>;

/**
 * `dronewatch audit`: read, verify, export and copy to the lake the audit log (`<dataDir>/audit.db`). Reading and
 * exporting it are themselves logged (`audit.read`, `audit.export`): the log holds SQL texts and names.
 */

const EXPORT_FORMATS = ['ndjson', 'csv', 'parquet'] as const;
type AuditExportFormat = (typeof EXPORT_FORMATS)[number];
/** Entries read from audit.db at a time by an export. */
const PAGE = 5000;

function exportFormatOf(file: string): AuditExportFormat {
  const f = ({ '.ndjson': 'ndjson', '.jsonl': 'ndjson', '.csv': 'csv', '.parquet': 'parquet' } as Record<string, AuditExportFormat>)[path.extname(file).toLowerCase()];
  if (!f) throw new DwError('DW_CONFIG_INVALID', `--out ${file}: name the file .ndjson (or .jsonl), .csv or .parquet`, { status: 400 });
  return f;
}

/** The matching entries in chain order, page by page. */
function* pages(audit: AuditLog, q: { tenant?: string | undefined; since?: string | undefined }): Generator<AuditRecord[]> {
  let after = 0;
  for (;;) {
    const page = audit.scan({ ...q, afterSeq: after, limit: PAGE });
    if (page.length === 0) return;
    yield page;
    after = page.at(-1)!.seq;
  }
}

function* rowPages(audit: AuditLog, q: { tenant?: string | undefined; since?: string | undefined }, { auditRow }: AuditParquet): Generator<AuditRow[]> {
  for (const page of pages(audit, q)) yield page.map(auditRow);
}

/** NDJSON or CSV lines, written with back-pressure. `details` is an object in NDJSON, its JSON text in CSV. */
async function writeText(audit: AuditLog, q: { tenant?: string | undefined; since?: string | undefined }, file: string, format: 'ndjson' | 'csv', m: AuditParquet): Promise<number> {
  const { AUDIT_COLUMNS } = m;
  const out = createWriteStream(file, { flags: 'wx' });
  const closed = new Promise<void>((resolve, reject) => {
    out.on('close', resolve);
    out.on('error', reject);
  });
  const write = async (s: string): Promise<void> => {
    if (!out.write(s)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  let n = 0;
  try {
    if (format === 'csv') await write(`${AUDIT_COLUMNS.join(',')}\r\n`);
    for (const page of rowPages(audit, q, m)) {
      const lines = page.map((r) => (format === 'csv'
        ? `${AUDIT_COLUMNS.map((c) => csvCell(cellText(r[c]))).join(',')}\r\n`
        : `${JSON.stringify({ ...r, details: JSON.parse(r.details) as unknown })}\n`));
      await write(lines.join(''));
      n += page.length;
    }
  } finally {
    out.end();
    await closed;
  }
  return n;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('the audit log: who read or changed what, when, from where (hash chain; docs/security.md)');

  audit.command('list').description('entries, newest first (this reading is logged too)')
    .addOption(new Option('--tenant <tenant>', 'only this tenant\'s entries'))
    .addOption(new Option('--actor <actor>', 'only this actor\'s (a user name, `cli:<os user>`, `drone:<id>`)'))
    .addOption(new Option('--action <action>', 'only this action (e.g. query.run, user.create)'))
    .addOption(new Option('--since <iso>', 'only entries from this time').argParser(dateOption('--since')))
    .addOption(new Option('--limit <n>', 'at most this many entries').default(100).argParser(intOption('--limit', 1)))
    .addOption(formatOption())
    .action(async (o: { tenant?: string; actor?: string; action?: string; since?: Date; limit: number; format: OutputFormat }, cmd: Command) => {
      await withAuditLog(cmd, (log) => {
        const q = { tenant: o.tenant, actor: o.actor, action: o.action, since: o.since?.toISOString(), limit: o.limit };
        // Recorded before the entries are shown, as the API does for every disclosure.
        log.append({ actor: cliActor(), tenant: o.tenant ?? '*', action: 'audit.read', details: JSON.parse(JSON.stringify(q)) as Record<string, unknown> });
        const entries = log.list(q);
        printRows(entries.map((e) => ({
          seq: e.seq, at: e.at, actor: e.actor, tenant: e.tenant, action: e.action, target: e.target, ip: e.ip, details: e.details,
          ...(o.format === 'table' ? {} : { prev_hash: e.prevHash, hash: e.hash }),
        })), o.format);
      });
    });

  audit.command('verify').description('recompute the hash chain: exit 0 when intact, 1 with the first bad entry')
    // Not `--lake`: that is the global option naming the lake's location.
    .addOption(new Option('--archived', 'verify the copies in the lake instead (`audit archive`; one per API host\'s log), each from its Parquet files alone, and that this host\'s matches this log'))
    .action(async (o: { archived?: boolean }, cmd: Command) => {
      const broken = (message: string, code: 'DW_AUDIT_CHAIN_BROKEN' | 'DW_AUDIT_LAKE_MISMATCH' = 'DW_AUDIT_CHAIN_BROKEN'): void => {
        process.stderr.write(`error: ${message} [${code}]\n`);
        process.exitCode = 1;
      };
      if (!o.archived) {
        await withAuditLog(cmd, (log) => {
          const v = log.verify();
          if (v.ok) process.stdout.write(`audit log intact: ${v.entries} entries, head ${v.head}\n`);
          else broken(`audit log broken at entry ${v.firstBad}: it was changed, removed or reordered; entries from it on cannot be trusted`);
        });
        return;
      }
      const paths = dataPaths(configFrom(cmd));
      const { withLakeStore, verifyArchivedAudit } = await auditLake();
      const v = await withLakeStore(paths.lake, (store) => verifyArchivedAudit(store, { scratchDir: paths.lakeScratch }));
      await withAuditLog(cmd, (log, dir) => {
        // The lake holds the logs of every API host; this host's own (same log id) is also compared with audit.db.
        const localId = log.logId;
        for (const l of v.logs) {
          if (!l.ok) {
            broken(`audit copy of log ${l.logId} in ${paths.lake} broken at entry ${l.firstBad}: ${l.reason}`);
            continue;
          }
          let matching = '';
          if (l.logId === localId && l.entries > 0) {
            // The lake copy anchors the local log: a local log rewritten with fresh hashes no longer ends on the same one.
            const local = log.scan({ afterSeq: l.entries - 1, toSeq: l.entries, limit: 1 })[0];
            if (local?.hash !== l.head) {
              broken(`the audit log in ${dir} (log ${l.logId}) does not match its copy in the lake at entry ${l.entries} (${local ? 'another hash' : 'missing'}): one of them was rewritten`, 'DW_AUDIT_LAKE_MISMATCH');
              continue;
            }
            matching = `, matching ${path.join(dir, 'audit.db')}`;
          }
          const pending = l.pendingFiles > 0 ? ` (${l.pendingFiles} files of a batch in progress not checked)` : '';
          process.stdout.write(`audit copy of log ${l.logId} in ${paths.lake} intact: ${l.entries} entries, head ${l.head}${matching}${pending}\n`);
        }
        if (localId !== undefined && !v.logs.some((l) => l.logId === localId)) {
          process.stdout.write(`the audit log in ${dir} (log ${localId}, ${log.headSeq()} entries) has no copy in ${paths.lake} yet (\`dronewatch audit archive\`)\n`);
        }
        if (v.logs.length === 0) process.stdout.write(`no audit log copied to ${paths.lake} yet\n`);
        if (v.ignoredFiles > 0) process.stdout.write(`${v.ignoredFiles} objects under audit/ in ${paths.lake} are no log's file (first layout, without a log id): ignored\n`);
      });
    });

  audit.command('export').description('write the entries, oldest first, to an NDJSON, CSV or Parquet file (every column, hashes included)')
    .addOption(new Option('-o, --out <file>', 'output file (required): .ndjson (or .jsonl), .csv or .parquet'))
    // --to is the end of a period in every command (stats, query, export); the file used to be --to here.
    .addOption(new Option('--to <file>').hideHelp())
    .addOption(new Option('--tenant <tenant>', 'only this tenant\'s entries'))
    .addOption(new Option('--since <iso>', 'only entries from this time').argParser(dateOption('--since')))
    .action(async (opts: { out?: string; to?: string; tenant?: string; since?: Date }, cmd: Command) => {
      if (opts.out === undefined) {
        throw new DwError('DW_CONFIG_INVALID', `audit export: give the output file with --out <file>${opts.to !== undefined ? ` (--to ${opts.to} is now --out ${opts.to}: --to is the end of a period in every command)` : ''}`, { status: 400 });
      }
      const o = { ...opts, to: opts.out };
      const format = exportFormatOf(o.to);
      const target = path.resolve(o.to);
      if (!existsSync(path.dirname(target))) throw new DwError('DW_CONFIG_INVALID', `--out ${o.to}: the directory ${path.dirname(target)} does not exist`, { status: 400 });
      const q = { tenant: o.tenant, since: o.since?.toISOString() };
      const m = await auditLake();
      await withAuditLog(cmd, async (log) => {
        log.append({ actor: cliActor(), tenant: o.tenant ?? '*', action: 'audit.export', target: target, details: JSON.parse(JSON.stringify({ format, ...q })) as Record<string, unknown> });
        // Written beside the target then renamed: the file is never seen half-written, and a failure leaves none.
        const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
        try {
          let n: number;
          if (format === 'parquet') {
            const duck = await m.AuditDuck.open();
            try {
              n = await duck.writeParquet(rowPages(log, q, m), tmp, `${tmp}.ndjson`);
            } finally {
              duck.close();
            }
          } else {
            n = await writeText(log, q, tmp, format, m);
          }
          const { size } = await fsp.stat(tmp);
          await fsp.rename(tmp, target);
          process.stdout.write(`${o.to}: ${n.toLocaleString('en-US')} entries, ${size.toLocaleString('en-US')} bytes (${format})\n`);
        } finally {
          await fsp.rm(tmp, { force: true });
        }
      });
    });

  audit.command('archive').description('copy the entries not yet in the lake to it, as Parquet under audit/ (exactly once; the server does it periodically)')
    .action(async (_o: object, cmd: Command) => {
      const paths = dataPaths(configFrom(cmd));
      const { withLakeStore, archiveAuditLog } = await auditLake();
      await withAuditLog(cmd, async (log) => {
        const r = await withLakeStore(paths.lake, (store) => archiveAuditLog(log, store, { scratchDir: paths.lakeScratch }));
        process.stdout.write(`audit: ${r.entries} entries copied to ${paths.lake} in ${r.files} files\n`);
      });
    });
}
