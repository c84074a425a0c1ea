import { jetstream, jetstreamManager, StorageType, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { natsSecurityOptions, type NatsClientSecurity } from './client-security.ts';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { StreamClosedError } from '../../../errors/index.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import type { ConsumerOptions, OutgoingRecord, PartitionLag, PublishAck, ReadOptions, Stream, StreamConsumer, StreamRecord, TopicConfig } from '../../../stream/types.ts';
import { NatsConsumer, type NatsConsumerContext } from './consumer.ts';
import { checkTenant, durableName, groupPrefix, GROUPS_BUCKET, partitionFilter, partitionKey } from './names.ts';
import { listGroups } from './transient-groups.ts';
import { Positions } from './positions.ts';
import { NatsPublisher } from './publish.ts';
import { PackedPublisher } from './packed-publish.ts';
import { packedLag } from './packed-lag.ts';
import { readRecords } from './read.ts';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { isNotFound, withRetry, type RetryOptions } from './retry.ts';
import { TopicCatalog, type TopicFormat, type TopicMeta } from './topics.ts';

export interface NatsStreamOptions {
  /** Server URLs, e.g. `nats://10.0.0.1:4222` (several for a cluster; the client fails over between them). */
  servers: string | string[];
  /** Tenant (police force) whose subjects this stream reads and writes. Default `default`. */
  tenant?: string;
  /** Credentials and TLS towards nats-server. */
  security?: NatsClientSecurity;
  /** Replicas of the streams, the consumers and the group bucket it creates: 1, or 3 on a 3-node cluster. Default 1. */
  replicas?: number;
  /** Timeout of one JetStream management request (stream, consumer, KV). Default 10 000 ms (the default 1 s times out under load). */
  requestTimeoutMs?: number;
  /** How long one publish attempt waits for its PubAck. Default 5000 ms. */
  publishTimeoutMs?: number;
  /** How long transient failures (leader election, reconnect) are retried before DW_STREAM_UNAVAILABLE. Default 30 000 ms. */
  retryForMs?: number;
  /** Records a group member may hold uncommitted per partition before JetStream stops delivering. Default 100 000. */
  maxAckPending?: number;
  /**
   * How topics created by this stream store records: `packed` (default: one JetStream message per publish round and
   * partition, packing.ts) or `per-record` (one message per record, the format before issue 14; for tests and
   * comparisons). An existing topic keeps the format it was created with.
   */
  topicFormat?: TopicFormat;
  logger?: Logger;
}

const ACK_WAIT_MS = 3600_000;
const CONSUMER_INACTIVE_MS = 3600_000;

/**
 * The Stream interface on NATS JetStream (docs/stream.md, "NATS JetStream"): one JetStream stream per topic; packed
 * topics (the default, packing.ts) hold one message per (publish round, partition) on `<topic>.<tenant>.<partition>.~b`
 * with offsets seq * 4096 + index, topics created before hold one message per record on
 * `<topic>.<tenant>.<partition>.<key>` with offsets = stream sequences; consumer groups with leases, epochs and
 * committed offsets in a KV bucket, one durable consumer per owned partition.
 */
export class NatsStream implements Stream {
  readonly name: string;
  readonly tenant: string;
  private readonly catalog: TopicCatalog;
  private readonly publisher: NatsPublisher;
  private readonly packedPublisher: PackedPublisher;
  private readonly positions: Positions;
  private readonly consumers = new Set<NatsConsumer>();
  private readonly retry: RetryOptions;
  private readonly logger: Logger;
  private kv: Promise<KV> | undefined;
  private closing: Promise<void> | undefined;
  private connClosed = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    servers: string[],
    private readonly opts: NatsStreamOptions,
  ) {
    this.name = `nats:${servers.map((s) => s.replace(/\/\/[^@/]*@/, '//')).join(',')}`;
    this.tenant = opts.tenant ?? 'default';
    this.logger = opts.logger ?? silentLogger;
    this.retry = { forMs: opts.retryForMs ?? 30_000, closed: () => this.closing !== undefined };
    this.catalog = new TopicCatalog(jsm, this.replicas, this.retry, opts.topicFormat ?? 'packed');
    this.positions = new Positions(jsm);
    this.packedPublisher = new PackedPublisher(js, jsm, {
      tenant: this.tenant,
      replicas: this.replicas,
      ackTimeoutMs: opts.publishTimeoutMs ?? 5000,
      retryForMs: this.retry.forMs,
      closed: () => this.closing !== undefined,
    });
    this.publisher = new NatsPublisher(js, jsm, {
      tenant: this.tenant,
      ackTimeoutMs: opts.publishTimeoutMs ?? 5000,
      retryForMs: this.retry.forMs,
      closed: () => this.closing !== undefined,
    });
  }

  /** Connects (retrying while the servers come up, for up to retryForMs). */
  static async connect(opts: NatsStreamOptions): Promise<NatsStream> {
    const servers = (Array.isArray(opts.servers) ? opts.servers : opts.servers.split(',')).map((s) => s.trim()).filter((s) => s.length > 0);
    if (servers.length === 0) throw new RangeError('NatsStream needs at least one server URL');
    checkTenant(opts.tenant ?? 'default');
    const replicas = opts.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new RangeError(`replicas must be an integer in 1..5, got ${replicas}`);
    const requestTimeout = opts.requestTimeoutMs ?? 10_000;
    let nc: NatsConnection;
    try {
      nc = await connect({
        servers,
        name: 'dronewatch',
        // Async stack traces double the cost of every request (notes/nats-jetstream.md).
        noAsyncTraces: true,
        maxReconnectAttempts: -1,
        timeout: requestTimeout,
        ...natsSecurityOptions(opts.security),
      });
    } catch (e) {
      throw new StreamUnavailableError(`connecting to ${servers.join(',')}`, e);
    }
    try {
      const retry: RetryOptions = { forMs: opts.retryForMs ?? 30_000, closed: () => false };
      const jsm = await withRetry('jetstream', retry, () => jetstreamManager(nc, { timeout: requestTimeout }));
      const js = jetstream(nc, { timeout: opts.publishTimeoutMs ?? 5000 });
      return new NatsStream(nc, js, jsm, servers, opts);
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw e;
    }
  }

  private get replicas(): number {
    return this.opts.replicas ?? 1;
  }

  async ensureTopic(topic: string, config: TopicConfig): Promise<void> {
    this.ensureOpen();
    await this.catalog.ensure(topic, config);
  }

  async partitionsOf(topic: string): Promise<number> {
    this.ensureOpen();
    return (await this.catalog.get(topic)).partitions;
  }

  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    this.ensureOpen();
    const meta = await this.catalog.get(topic);
    if (records.length === 0) return [];
    return meta.packed ? this.packedPublisher.publish(meta, records) : this.publisher.publish(meta, records);
  }

  async consumer(opts: ConsumerOptions): Promise<StreamConsumer> {
    this.ensureOpen();
    const meta = await this.catalog.get(opts.topic);
    const kv = await this.groupsKv();
    const ctx: NatsConsumerContext = {
      kv,
      positions: this.positions,
      tenant: this.tenant,
      reader: {
        js: this.js,
        jsm: this.jsm,
        maxAckPending: this.opts.maxAckPending ?? 100_000,
        ackWaitMs: ACK_WAIT_MS,
        inactiveMs: CONSUMER_INACTIVE_MS,
        logger: this.logger,
        closed: () => this.connClosed,
      },
      logger: this.logger,
      joinTimeoutMs: this.opts.requestTimeoutMs ?? 10_000,
      retry: this.retry,
      closed: () => this.connClosed,
      onClose: (c) => { this.consumers.delete(c); },
    };
    const c = await NatsConsumer.open(ctx, meta, opts);
    if (this.closing) {
      await c.close();
      throw new StreamClosedError();
    }
    this.consumers.add(c);
    return c;
  }

  async read(topic: string, opts: ReadOptions = {}): Promise<StreamRecord[]> {
    this.ensureOpen();
    const meta = await this.catalog.get(topic);
    return withRetry(`read ${topic}`, this.retry, () => readRecords({ js: this.js, jsm: this.jsm, meta, tenant: this.tenant, replicas: this.replicas }, opts));
  }

  async groups(topic: string): Promise<string[]> {
    this.ensureOpen();
    await this.catalog.get(topic);
    const kv = await this.groupsKv();
    return withRetry(`groups of ${topic}`, this.retry, () => listGroups(kv, topic, this.tenant));
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    this.ensureOpen();
    const meta = await this.catalog.get(topic);
    const kv = await this.groupsKv();
    const prefix = groupPrefix(topic, this.tenant, group);
    return withRetry(`lag ${topic}/${group}`, this.retry, () => Promise.all([...Array(meta.partitions).keys()].map(async (partition) => {
      const filter = partitionFilter(topic, this.tenant, partition);
      // Packed topics find their end in packedLag (the last message's record count), not from a sequence.
      const [entry, end] = await Promise.all([kv.get(partitionKey(prefix, partition)), meta.packed ? -1 : this.positions.lastSeq(meta.stream, filter)]);
      const value = entry?.operation === 'PUT' ? entry.json<{ epoch: number; committed: number }>() : undefined;
      const committed = value?.committed ?? -1;
      if (meta.packed) return packedLag(this.jsm, meta, this.tenant, partition, committed);
      if (end < 0 || committed >= end) return { partition, committed, end, lag: 0 };
      return { partition, committed, end, lag: await this.countAfter(meta, group, partition, committed, value?.epoch) };
    })));
  }

  /**
   * Records of a partition after `committed`. The current owner's consumer answers without creating anything when
   * its ack floor is the committed offset (or it started right after it and acked nothing): its pending plus
   * ack-pending counts are then exactly that. Otherwise (after a seek, no consumer) a probe consumer counts.
   */
  private async countAfter(meta: TopicMeta, group: string, partition: number, committed: number, epoch: number | undefined): Promise<number> {
    const start = Math.max(1, committed + 1);
    if (epoch !== undefined) {
      try {
        const ci = await this.jsm.consumers.info(meta.stream, durableName(this.tenant, group, partition, epoch));
        const cfgStart = ci.config.deliver_policy === 'all' ? 1 : ci.config.opt_start_seq;
        const floor = ci.ack_floor.stream_seq;
        if (floor === committed || (floor === 0 && cfgStart === start)) return ci.num_pending + ci.num_ack_pending;
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    return this.positions.countFrom(meta.stream, partitionFilter(meta.name, this.tenant, partition), start);
  }

  /**
   * JetStream applies max_age and max_bytes by itself (max_bytes on every write); this also purges, now, what is older
   * than max_age in case the server's expiry timer has not fired yet.
   */
  async enforceRetention(): Promise<void> {
    this.ensureOpen();
    await withRetry('enforceRetention', this.retry, async () => {
      for (const meta of await this.catalog.all()) {
        if (meta.maxAgeMs <= 0) continue;
        const info = await this.jsm.streams.info(meta.stream);
        const cutoff = Date.now() - meta.maxAgeMs;
        if (info.state.messages === 0 || Date.parse(info.state.first_ts) >= cutoff) continue;
        const keep = await this.positions.startSeq(meta.stream, `${meta.name}.>`, { time: cutoff });
        if (keep > info.state.first_seq) await this.jsm.streams.purge(meta.stream, { seq: keep });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      for (const c of [...this.consumers]) {
        await c.close().catch((e: unknown) => this.logger.warn({ err: e }, 'stream: closing a consumer failed'));
      }
      this.connClosed = true;
      await this.nc.close().catch(() => undefined);
    })();
    return this.closing;
  }

  private ensureOpen(): void {
    if (this.closing) throw new StreamClosedError();
  }

  /** The KV bucket of group state, created on first use with the stream's replica count. */
  private groupsKv(): Promise<KV> {
    if (!this.kv) {
      const kvm = new Kvm(this.js);
      this.kv = withRetry('groups bucket', this.retry, () => kvm.create(GROUPS_BUCKET, {
        history: 1,
        replicas: this.replicas,
        storage: StorageType.File,
        // Reads go to the leader: a compare-and-set retry must not read a stale revision from a follower.
        allow_direct: false,
        timeout: this.opts.requestTimeoutMs ?? 10_000,
      }));
      this.kv.catch(() => { this.kv = undefined; });
    }
    return this.kv;
  }
}
