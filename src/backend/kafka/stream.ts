import { Admin, Consumer, Producer, type BaseOptions } from '@platformatic/kafka';
import { StreamClosedError } from '../../errors/index.ts';
import type { ConsumerOptions, OutgoingRecord, PartitionLag, PublishAck, ReadOptions, Stream, StreamConsumer, StreamRecord, TopicConfig } from '../../stream/types.ts';
import { silentLogger, type Logger } from '../../util/log.ts';
import { TopicCatalog } from './catalog.ts';
import { call, errorText, KafkaUnavailableError, withRetry } from './client.ts';
import { KafkaConsumer, type KafkaConsumerContext } from './consumer.ts';
import { deleteGroupIfEmpty, dropDeadTransientGroups, groupLag, topicGroups } from './groups.ts';
import { readRange, resolvePositions, Serial } from './log.ts';
import { checkTenant, NAMESPACE } from './names.ts';
import { Publisher } from './publish.ts';
import { applyRetention } from './retention.ts';

export interface KafkaStreamOptions {
  /** Bootstrap brokers, `host:port` (several: the client fails over between them and discovers the others). */
  brokers: string[];
  /** Tenant (police force) whose topics and groups this stream uses. Default `default`. */
  tenant?: string;
  /** Replication factor of the topics it creates: 1, or 3 on a 3-node cluster (min.insync.replicas is then 2). Default 1. */
  replicas?: number;
  /** Client id prefix shown in the brokers' logs and quotas. Default `dronewatch`. */
  clientId?: string;
  /** How long transient failures (leader election, coordinator moves, reconnects) are retried. Default 30 000 ms. */
  retryForMs?: number;
  logger?: Logger;
}

const RETRY_DELAY_MS = 250;
/**
 * Retries of one request by the reader and admin clients before it fails to our retry loop (withRetry). The client
 * retries a request against the broker it chose first: ListOffsets against the leader it had cached (it refreshes its
 * metadata only once every attempt is spent), OffsetFetch against the group coordinator it had found. With the
 * producer's budget, a killed broker stalled the duplicate check of every publish, read(), and lag() (which the
 * shared-state buckets call before a read) for the whole retryForMs. A few attempts, then our loop, which asks again
 * who leads or coordinates (log.ts forgets the cached metadata after a failure), follow the cluster within seconds.
 * Every call on these two clients runs under withRetry or is best effort.
 */
const FEW_RETRIES = 3;

/**
 * The Stream interface (src/stream/types.ts) on Apache Kafka: one Kafka topic per topic and tenant (`dw.<tenant>.<topic>`),
 * created with its partitions, replication factor and retention; the record's partition is partitionOf(key); offsets
 * are Kafka offsets; consumer groups are the broker's (consumer.ts); publishing goes through the idempotent producer
 * with acks=all, batching and lz4 compression (publish.ts), with de-duplication by id (dedup.ts).
 *
 * Broker settings relied on: auto.create.topics.enable=false (a typo must not create a topic), and a
 * group.min.session.timeout.ms no greater than the smallest sessionTimeoutMs used (Kafka's default is 6 s).
 */
export class KafkaStream implements Stream {
  readonly name: string;
  readonly tenant: string;
  private readonly catalog: TopicCatalog;
  private readonly publisher: Publisher;
  private readonly readerSerial = new Serial();
  private readonly consumers = new Set<KafkaConsumer>();
  private readonly logger: Logger;
  private closing: Promise<void> | undefined;
  private clientsClosed = false;

  private constructor(
    private readonly admin: Admin,
    private readonly producer: Producer,
    private readonly batchProducer: Producer,
    private readonly reader: Consumer,
    private readonly base: Pick<BaseOptions, 'bootstrapBrokers' | 'retries' | 'retryDelay' | 'connectTimeout'>,
    private readonly opts: KafkaStreamOptions,
  ) {
    this.name = `kafka:${opts.brokers.join(',')}`;
    this.tenant = opts.tenant ?? 'default';
    this.logger = opts.logger ?? silentLogger;
    this.catalog = new TopicCatalog({ admin, producer, reader, readerSerial: this.readerSerial, tenant: this.tenant, replicas: opts.replicas ?? 1,
      retryForMs: opts.retryForMs ?? 30_000, closed: () => this.closing !== undefined });
    this.publisher = new Publisher({ producer, batchProducer, reader, readerSerial: this.readerSerial, retrying: (what, fn) => this.retrying(what, fn) });
  }

  /** Connects (retrying while the brokers come up, for up to retryForMs); DW_STREAM_UNAVAILABLE if none answers. */
  static async connect(opts: KafkaStreamOptions): Promise<KafkaStream> {
    const brokers = opts.brokers.map((b) => b.trim()).filter((b) => b.length > 0);
    if (brokers.length === 0) throw new RangeError('KafkaStream needs at least one broker (host:port)');
    checkTenant(opts.tenant ?? 'default');
    const replicas = opts.replicas ?? 1;
    if (!Number.isInteger(replicas) || replicas < 1 || replicas > 7) throw new RangeError(`replicas must be an integer in 1..7, got ${replicas}`);
    const retryForMs = opts.retryForMs ?? 30_000;
    const clientId = opts.clientId ?? 'dronewatch';
    const base = { bootstrapBrokers: brokers, retries: Math.max(1, Math.ceil(retryForMs / RETRY_DELAY_MS)), retryDelay: RETRY_DELAY_MS, connectTimeout: 5000 };
    const admin = new Admin({ ...base, retries: FEW_RETRIES, clientId: `${clientId}-admin` });
    // idempotent: acks=all, one request in flight per connection, producer id + sequence numbers (no duplicate or
    // reordered batch on a retry). lz4: cheap on CPU, and JSON reports compress well.
    const producer = new Producer({ ...base, clientId: `${clientId}-producer`, idempotent: true, compression: 'lz4' });
    // Sends spanning several partitions (one request per leader broker): few retries, because the client retries a
    // send at the leader of its first record's partition only (publish.ts); after a failure publish.ts resends per
    // partition through `producer`.
    const batchProducer = new Producer({ ...base, retries: FEW_RETRIES, clientId: `${clientId}-batch-producer`, idempotent: true, compression: 'lz4' });
    // A client for reads outside groups (read(), de-duplication, retention); it never joins its group.
    const reader = new Consumer({ ...base, retries: FEW_RETRIES, clientId: `${clientId}-reader`, groupId: `${NAMESPACE}.${opts.tenant ?? 'default'}._reader` });
    const closeAll = async (): Promise<void> => {
      await Promise.allSettled([call((cb) => admin.close(cb)), call((cb) => producer.close(true, cb)), call((cb) => batchProducer.close(true, cb)), call((cb) => reader.close(true, cb))]);
    };
    try {
      await withRetry(`connecting to ${brokers.join(',')}`, retryForMs, () => false, () => call((cb) => admin.metadata({ topics: [] }, cb)));
    } catch (e) {
      await closeAll();
      throw e instanceof KafkaUnavailableError ? e : new KafkaUnavailableError(`connecting to ${brokers.join(',')}`, e);
    }
    return new KafkaStream(admin, producer, batchProducer, reader, base, { ...opts, brokers, replicas, retryForMs });
  }

  async ensureTopic(topic: string, config: TopicConfig): Promise<void> {
    this.ensureOpen();
    await this.retrying(`ensureTopic ${topic}`, () => this.catalog.ensure(topic, config));
  }

  async partitionsOf(topic: string): Promise<number> {
    this.ensureOpen();
    return (await this.catalog.get(topic)).partitions;
  }

  async publish(topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]> {
    this.ensureOpen();
    const meta = await this.catalog.get(topic);
    if (records.length === 0) return [];
    return this.publisher.publish(meta, records);
  }

  async consumer(opts: ConsumerOptions): Promise<StreamConsumer> {
    this.ensureOpen();
    const meta = await this.catalog.get(opts.topic);
    const ctx: KafkaConsumerContext = {
      client: this.base,
      tenant: this.tenant,
      logger: this.logger,
      retryForMs: this.opts.retryForMs ?? 30_000,
      closed: () => this.clientsClosed,
      onClose: (c) => { this.consumers.delete(c); },
      onTransientJoin: (id) => dropDeadTransientGroups(this.admin, this.tenant, meta.name, id, this.logger),
      onTransientLeave: (id) => deleteGroupIfEmpty(this.admin, id),
    };
    const c = await KafkaConsumer.open(ctx, meta, opts);
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
    const limit = opts.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
    if (opts.partition !== undefined && !(Number.isInteger(opts.partition) && opts.partition >= 0 && opts.partition < meta.partitions)) {
      throw new RangeError(`partition ${opts.partition} is not a partition of topic "${topic}" (0..${meta.partitions - 1})`);
    }
    const partitions = opts.partition !== undefined ? [opts.partition] : [...Array(meta.partitions).keys()];
    const perPartition = await this.retrying(`read ${topic}`, () => this.readerSerial.run(async () => {
      const starts = await resolvePositions(this.reader, meta.kafka, partitions, opts.from ?? 'earliest');
      const out: StreamRecord[][] = [];
      for (const p of partitions) out.push((await readRange(this.reader, meta.kafka, p, starts.get(p)!, limit)).map((r) => ({ ...r.record, topic })));
      return out;
    }));
    return mergeByTime(perPartition, limit);
  }

  async lag(topic: string, group: string): Promise<PartitionLag[]> {
    this.ensureOpen();
    const meta = await this.catalog.get(topic);
    return this.retrying(`lag ${topic}/${group}`, () => groupLag(this.admin, this.reader, meta, this.tenant, group));
  }

  async groups(topic: string): Promise<string[]> {
    this.ensureOpen();
    await this.catalog.get(topic);
    const groups = await this.retrying(`groups of ${topic}`, () => topicGroups(this.admin, this.tenant, topic));
    return [...new Set(groups.map((g) => g.group))].sort();
  }

  /** Kafka applies retention itself, a segment at a time; this applies it now, to the record (retention.ts). */
  async enforceRetention(): Promise<void> {
    this.ensureOpen();
    const now = Date.now();
    for (const meta of await this.catalog.all()) {
      await this.retrying(`retention of ${meta.name}`, () => this.readerSerial.run(() => applyRetention(this.admin, this.reader, meta, now)));
    }
  }

  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = (async () => {
      for (const c of [...this.consumers]) {
        await c.close().catch((e: unknown) => this.logger.warn({ err: errorText(e) }, 'stream: closing a consumer failed'));
      }
      this.clientsClosed = true;
      await Promise.allSettled([
        call((cb) => this.producer.close(true, cb)),
        call((cb) => this.batchProducer.close(true, cb)),
        call((cb) => this.reader.close(true, cb)),
        call((cb) => this.admin.close(cb)),
      ]);
    })();
    return this.closing;
  }

  private ensureOpen(): void {
    if (this.closing) throw new StreamClosedError();
  }

  private retrying<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(what, this.opts.retryForMs ?? 30_000, () => this.closing !== undefined, fn);
  }
}

/** Records of several partitions merged by append time; each partition keeps its offset order. */
function mergeByTime(lists: StreamRecord[][], limit: number): StreamRecord[] {
  const heads = lists.map(() => 0);
  const out: StreamRecord[] = [];
  while (out.length < limit) {
    let best = -1;
    for (const [i, list] of lists.entries()) {
      const r = list[heads[i]!];
      if (r && (best < 0 || r.timestamp < lists[best]![heads[best]!]!.timestamp)) best = i;
    }
    if (best < 0) break;
    out.push(lists[best]![heads[best]!++]!);
  }
  return out;
}
