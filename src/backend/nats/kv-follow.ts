import type { KV, KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/transport-node';
import type { Logger } from '../../util/log.ts';

/**
 * Follows a KV bucket: every key's current value, then every change, as the server stores them, in revision order.
 * `value` is null for a deletion or a purge. Resumes after the last revision seen when the watch breaks (reconnect,
 * leader change). Used by the local views of shared state (alert state, credentials).
 */
export class KvFollower {
  private iter: QueuedIterator<KvWatchEntry> | undefined;
  private maxRevision = 0;
  private caughtUp: { rev: number; resolve: () => void } | undefined;
  private stopped = false;

  constructor(
    private readonly kv: KV,
    private readonly onEntry: (key: string, value: Uint8Array | null, rev: number) => void,
    private readonly logger: Logger,
    private readonly what: string,
  ) {}

  /**
   * Starts, and resolves once everything the bucket held at the start was delivered. The watch covers every key so
   * that the bucket's last sequence, taken before starting, is certain to be delivered.
   */
  async start(timeoutMs: number): Promise<void> {
    const last = (await this.kv.status()).streamInfo.state.last_seq;
    const ready = last === 0 ? Promise.resolve() : new Promise<void>((resolve) => { this.caughtUp = { rev: last, resolve }; });
    await this.watch(0);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the ${this.what} bucket's watch did not catch up with revision ${last} within ${timeoutMs} ms`)), timeoutMs);
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
        try {
          this.onEntry(e.key, e.operation === 'PUT' ? e.value : null, e.revision);
        } catch (err) {
          this.logger.warn({ err, key: e.key }, `${this.what}: ignoring a KV entry it cannot read`);
        }
        if (e.revision > this.maxRevision) this.maxRevision = e.revision;
        if (this.caughtUp && this.maxRevision >= this.caughtUp.rev) {
          this.caughtUp.resolve();
          this.caughtUp = undefined;
        }
      }
    } catch (err) {
      this.logger.warn({ err }, `${this.what}: KV watch failed`);
    }
    this.restartLater();
  }

  private restartLater(): void {
    if (this.stopped) return;
    setTimeout(() => {
      if (this.stopped) return;
      this.watch(this.maxRevision + 1).catch((err: unknown) => {
        this.logger.warn({ err }, `${this.what}: KV watch restart failed`);
        this.restartLater();
      });
    }, 1000).unref();
  }
}
