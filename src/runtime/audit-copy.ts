import { isDwError } from '../errors/index.ts';
import { lakeStore } from '../lake/index.ts';
import { archiveAuditLog, type AuditLog } from '../security/index.ts';
import type { Logger } from '../util/log.ts';

export interface AuditCopy {
  /** Copies what is left, then stops (on shutdown: the lake's copy is as complete as the log). */
  stop(): Promise<void>;
}

/**
 * Copies this host's audit log into the lake (`audit/tenant=<t>/...`, under the log's id beside the other hosts'
 * logs: src/security/audit-archive.ts) every `everyMs`, one run at a time, off the request path. A broken chain, or a
 * lake copy under this log's id that this log does not continue, is the same on every run: logged as an error each
 * time rather than retried quietly (someone must look), and the local log keeps every entry.
 */
export function startAuditCopy(audit: AuditLog, lake: string, opts: { everyMs: number; scratchDir: string; logger: Logger }): AuditCopy {
  const { store, owned } = lakeStore(lake);
  let running: Promise<void> = Promise.resolve();
  const runOnce = (): Promise<void> => {
    running = running.then(async () => {
      try {
        const r = await archiveAuditLog(audit, store, { scratchDir: opts.scratchDir, logger: opts.logger });
        if (r.entries > 0) opts.logger.info({ log: r.logId, entries: r.entries, files: r.files }, 'audit log copied to the lake');
      } catch (err) {
        if (isDwError(err) && (err.code === 'DW_AUDIT_CHAIN_BROKEN' || err.code === 'DW_AUDIT_LAKE_MISMATCH')) {
          opts.logger.error({ err, log: audit.logId }, 'audit log NOT copied to the lake: its hash chain or the lake copy needs an investigation');
        } else {
          opts.logger.warn({ err }, 'audit log copy to the lake failed; next attempt at the next interval');
        }
      }
    });
    return running;
  };
  const timer = setInterval(() => void runOnce(), opts.everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await runOnce();
      if (owned) await store.close();
    },
  };
}
