/**
 * Topics: created in Kafka with their partitions, replication factor and retention, and described in the tenant's
 * compacted catalog topic with what Kafka has no topic config for (the duplicate window), so that another process, or
 * this one after a restart, publishing without calling ensureTopic first, applies the same window.
 */
import type { Admin, Producer } from '@platformatic/kafka';
import { UnknownTopicError } from '../../errors/index.ts';
import type { RetentionPolicy, TopicConfig } from '../../stream/types.ts';
import { call, errorText, kafkaErrorIs, withRetry } from './client.ts';
import { listOffsets, readRange, type KafkaClient, type Serial } from './log.ts';
import { catalogTopic, kafkaTopic } from './names.ts';

export interface TopicMeta {
  /** Platform name, e.g. `reports`. */
  name: string;
  /** Kafka topic, e.g. `dw.paris.reports`. */
  kafka: string;
  partitions: number;
  duplicateWindowMs: number;
  retention: RetentionPolicy;
}

interface CatalogEntry {
  duplicateWindowMs?: number;
  retention?: RetentionPolicy;
}

const DAY = 24 * 3600_000;
const MIB = 1024 * 1024;

function clamp(n: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, n));
}

/**
 * Kafka topic configs of a topic. Kafka's own retention is per partition and drops whole segments: `retention.bytes`
 * is the topic's maxBytes shared by its partitions, and segments are rolled often enough (half the retention age, a
 * quarter of the per-partition size) that what Kafka deletes by itself stays close to the policy; enforceRetention()
 * trims to the record.
 */
export function topicConfigs(config: TopicConfig, replicas: number): { name: string; value: string }[] {
  const maxAge = config.retention?.maxAgeMs;
  const maxBytes = config.retention?.maxBytes;
  const perPartition = maxBytes !== undefined ? Math.max(1, Math.ceil(maxBytes / config.partitions)) : undefined;
  const configs: Record<string, string> = {
    'cleanup.policy': 'delete',
    // The Stream model's timestamps are append times: the broker's clock, not each producer's.
    'message.timestamp.type': 'LogAppendTime',
    // acks=all then means at least two copies on a 3-node cluster, and one broker may be down.
    'min.insync.replicas': String(replicas >= 3 ? 2 : 1),
    'retention.ms': String(maxAge ?? -1),
    'retention.bytes': String(perPartition ?? -1),
  };
  if (maxAge !== undefined) configs['segment.ms'] = String(clamp(Math.floor(maxAge / 2), 60_000, 7 * DAY));
  if (perPartition !== undefined) configs['segment.bytes'] = String(clamp(Math.ceil(perPartition / 4), MIB, 1024 * MIB));
  return Object.entries(configs).map(([name, value]) => ({ name, value }));
}

function isUnknownTopic(e: unknown): boolean {
  // The client reports an unknown topic as a UserError of its own ("Unknown topic <name>.").
  // The producer wraps it in its MultipleErrors ("Producing messages failed.").
  return kafkaErrorIs(e, 'UNKNOWN_TOPIC_OR_PARTITION', 'UNKNOWN_TOPIC_ID') || (e instanceof Error && /(^|\()Unknown topic /.test(errorText(e)));
}

function checkConfig(config: TopicConfig): void {
  if (!Number.isInteger(config.partitions) || config.partitions < 1) throw new RangeError(`partitions must be a positive integer, got ${config.partitions}`);
  const w = config.duplicateWindowMs;
  if (w !== undefined && !(Number.isFinite(w) && w >= 0)) throw new RangeError(`duplicateWindowMs must be >= 0, got ${w}`);
}

export interface CatalogContext {
  admin: Admin;
  producer: Producer;
  reader: KafkaClient;
  readerSerial: Serial;
  tenant: string;
  replicas: number;
  retryForMs: number;
  closed: () => boolean;
}

export class TopicCatalog {
  private readonly cache = new Map<string, TopicMeta>();
  private readonly catalog: string;
  private catalogReady: Promise<void> | undefined;

  constructor(private readonly ctx: CatalogContext) {
    this.catalog = catalogTopic(ctx.tenant);
  }

  async ensure(topic: string, config: TopicConfig): Promise<void> {
    checkConfig(config);
    const kafka = kafkaTopic(this.ctx.tenant, topic);
    let created = false;
    try {
      await call((cb) => this.ctx.admin.createTopics({
        topics: [{ topic: kafka, partitions: config.partitions, replicas: this.ctx.replicas }],
        configs: topicConfigs(config, this.ctx.replicas),
      }, cb));
      created = true;
    } catch (e) {
      // An existing topic keeps its partition count and configs (ensureTopic is idempotent).
      if (!kafkaErrorIs(e, 'TOPIC_ALREADY_EXISTS')) throw e;
    }
    const entries = created ? undefined : await this.readCatalog();
    if (created || !entries?.has(topic)) {
      await this.writeCatalog(topic, { duplicateWindowMs: config.duplicateWindowMs ?? 0, retention: config.retention ?? {} });
    }
    this.cache.delete(topic);
    // A topic just created may take a moment to appear in the metadata of the broker we ask.
    const deadline = Date.now() + Math.min(this.ctx.retryForMs, 10_000);
    for (;;) {
      try {
        await this.get(topic);
        return;
      } catch (e) {
        if (!(e instanceof UnknownTopicError) || Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** The topic's description; DW_STREAM_TOPIC_UNKNOWN if it does not exist. */
  async get(topic: string): Promise<TopicMeta> {
    const hit = this.cache.get(topic);
    if (hit) return hit;
    const kafka = kafkaTopic(this.ctx.tenant, topic);
    const partitions = await this.partitionCount(kafka);
    if (partitions === undefined) throw new UnknownTopicError(topic);
    const entry = (await this.readCatalog()).get(topic) ?? {};
    const meta: TopicMeta = { name: topic, kafka, partitions, duplicateWindowMs: entry.duplicateWindowMs ?? 0, retention: entry.retention ?? {} };
    this.cache.set(topic, meta);
    return meta;
  }

  /** Every topic of the tenant that the catalog describes and that exists. */
  async all(): Promise<TopicMeta[]> {
    const out: TopicMeta[] = [];
    for (const name of (await this.readCatalog()).keys()) {
      try {
        out.push(await this.get(name));
      } catch (e) {
        if (!(e instanceof UnknownTopicError)) throw e;
      }
    }
    return out;
  }

  private async partitionCount(kafka: string): Promise<number | undefined> {
    try {
      // retries: 0 because the client retries an unknown topic as stale metadata; transient failures are retried here.
      const md = await withRetry(`metadata of ${kafka}`, this.ctx.retryForMs, this.ctx.closed, () =>
        call<Awaited<ReturnType<Admin['metadata']>>>((cb) => this.ctx.admin.metadata({ topics: [kafka], autocreateTopics: false, forceUpdate: true, retries: 0 }, cb)));
      return md.topics.get(kafka)?.partitionsCount;
    } catch (e) {
      if (isUnknownTopic(e)) return undefined;
      throw e;
    }
  }

  private ensureCatalogTopic(): Promise<void> {
    this.catalogReady ??= (async () => {
      try {
        await call((cb) => this.ctx.admin.createTopics({
          topics: [{ topic: this.catalog, partitions: 1, replicas: this.ctx.replicas }],
          configs: [
            { name: 'cleanup.policy', value: 'compact' },
            { name: 'min.insync.replicas', value: String(this.ctx.replicas >= 3 ? 2 : 1) },
          ],
        }, cb));
      } catch (e) {
        if (!kafkaErrorIs(e, 'TOPIC_ALREADY_EXISTS')) throw e;
      }
    })().catch((e: unknown) => {
      this.catalogReady = undefined;
      throw e;
    });
    return this.catalogReady;
  }

  private async writeCatalog(topic: string, entry: CatalogEntry): Promise<void> {
    await this.ensureCatalogTopic();
    // The catalog topic just created may not be in the producer's metadata yet (seen under load): asked again.
    const deadline = Date.now() + Math.min(this.ctx.retryForMs, 10_000);
    for (;;) {
      try {
        await call((cb) => this.ctx.producer.send({
          messages: [{ topic: this.catalog, partition: 0, key: Buffer.from(topic, 'utf8'), value: Buffer.from(JSON.stringify(entry), 'utf8') }],
        }, cb));
        return;
      } catch (e) {
        if (!isUnknownTopic(e) || Date.now() > deadline) throw e;
        this.ctx.producer.clearMetadata();
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private async readCatalog(): Promise<Map<string, CatalogEntry>> {
    const entries = new Map<string, CatalogEntry>();
    if ((await this.partitionCount(this.catalog)) === undefined) return entries;
    const records = await withRetry(`reading ${this.catalog}`, this.ctx.retryForMs, this.ctx.closed, () => this.ctx.readerSerial.run(async () => {
      const [first] = (await listOffsets(this.ctx.reader, this.catalog, [0], 'earliest')).values();
      return readRange(this.ctx.reader, this.catalog, 0, first ?? 0n, Number.MAX_SAFE_INTEGER);
    }));
    for (const { record } of records) {
      try {
        entries.set(record.key, JSON.parse(Buffer.from(record.value).toString('utf8')) as CatalogEntry);
      } catch {
        // A foreign or corrupt entry describes nothing; the topic then has no duplicate window.
      }
    }
    return entries;
  }
}
