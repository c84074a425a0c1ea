import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from '../../util/log.ts';
import { ALERT_PREFIX, decodeJson, type AlertRecord } from './keys.ts';

/**
 * Follows a tenant's alert bucket: every alert's current value, then every change, as the server stores them.
 * Resumes after the last revision seen when the watch breaks (reconnect, leader change).
 */
export class AlertWatch {
  private iter: QueuedIterator<KvWatchEntry> | undefined;
  private maxRevision = 0;
  private caughtUp: { rev: number; resolve: () => void } | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly onAlert: (alertId: string, rec: AlertRecord | null, rev: number) => void,
    private readonly logger: Logger,
  ) {}

  /**
   * Starts, and resolves once everything the bucket held at the start was delivered. The watch covers every key (not
   * only alerts) so that the bucket's last sequence, taken before starting, is certain to be delivered.
   */
  async start(timeoutMs: number): Promise<void> {
    const last = (await this.kv.status()).streamInfo.state.last_seq;
    const ready = last === 0 ? Promise.resolve() : new Promise<void>((resolve) => { this.caughtUp = { rev: last, resolve }; });
    await this.watch(0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the alert bucket's watch did not catch up with revision ${last} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([ready, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  stop(): void {
    this.stopped = true;
    this.iter?.stop();
    this.caughtUp?.resolve();
  }

  private async watch(fromRevision: number): Promise<void> {
    const iter = await this.kv.watch({ key: '>', ...(fromRevision > 0 ? { resumeFromRevision: fromRevision } : {}) });
    this.iter = iter;
    void this.run(iter);
  }

  private async run(iter: QueuedIterator<KvWatchEntry>): Promise<void> {
    try {
      for await (const e of iter) {
        if (e.key.startsWith(ALERT_PREFIX)) {
          let rec: AlertRecord | null = null;
          if (e.operation === 'PUT') {
            try {
              rec = decodeJson<AlertRecord>(e.value);
            } catch {
              this.logger.warn({ key: e.key }, 'alert state: ignoring a malformed KV entry');
            }
          }
          if (rec || e.operation !== 'PUT') this.onAlert(e.key.slice(ALERT_PREFIX.length), rec, e.revision);
        }
        if (e.revision > this.maxRevision) this.maxRevision = e.revision;
        if (this.caughtUp && this.maxRevision >= this.caughtUp.rev) {
          this.caughtUp.resolve();
          this.caughtUp = undefined;
        }
      }
    } catch (err) {
      this.logger.warn({ err }, 'alert state: KV watch failed');
    }
    this.restartLater();
  }

  private restartLater(): void {
    if (this.stopped) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.watch(this.maxRevision + 1).catch((err: unknown) => {
        this.logger.warn({ err }, 'alert state: KV watch restart failed');
        this.restartLater();
      });
    }, 1000).unref();
  }
}
