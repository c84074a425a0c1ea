/** Topic <-> JetStream stream: one stream per topic, settings in the stream config, partition count in its metadata. */
import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig, type StreamInfo } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { UnknownTopicError } from '../../../errors/index.ts';
import type { TopicConfig } from '../../../stream/types.ts';
import { streamName } from './names.ts';
import { API_CODE, apiCode, withRetry, type RetryOptions } from './retry.ts';

const META_PARTITIONS = 'dronewatch.partitions';
const META_DEDUP = 'dronewatch.dedup_ms';
const META_TOPIC = 'dronewatch.topic';
/**
 * The topic's record format, set once at creation and never changed: `packed` (one message per publish round and
 * partition, packing.ts). Streams created before it have no marker and keep one message per record: both stay
 * readable, and an update of the topic's settings never adds or changes the marker.
 */
const META_FORMAT = 'dronewatch.format';
const FORMAT_PACKED = 'packed';

/** How a new topic stores its records; an existing topic keeps the format it was created with. */
export type TopicFormat = 'packed' | 'per-record';

/** JetStream refuses a duplicate window or max age under 100 ms. */
const MIN_WINDOW_MS = 100;
/**
 * Window for topics without de-duplication by record id: every publish still carries a random Nats-Msg-Id so that a
 * retry after a lost PubAck (failover) is not appended twice; 2 minutes is JetStream's default.
 */
const RETRY_WINDOW_MS = 120_000;
/** How long a cached topic's settings are trusted before being read again (another process may change them). */
const REFRESH_MS = 30_000;

export interface TopicMeta {
  name: string;
  stream: string;
  partitions: number;
  /** De-duplication window by record id, 0 = none. */
  dedupMs: number;
  /** 0 = no age limit. */
  maxAgeMs: number;
  /** One message per (publish round, partition) holding many records (packing.ts), else one per record. */
  packed: boolean;
  readAt: number;
}

function metaOf(topic: string, info: StreamInfo): TopicMeta {
  const md = info.config.metadata ?? {};
  const partitions = Number(md[META_PARTITIONS]);
  if (!Number.isInteger(partitions) || partitions < 1 || md[META_TOPIC] !== topic) {
    throw new Error(`stream ${info.config.name} exists but was not created by dronewatch for topic "${topic}" (metadata ${JSON.stringify(md)})`);
  }
  return {
    name: topic,
    stream: info.config.name,
    partitions,
    dedupMs: Number(md[META_DEDUP] ?? 0) || 0,
    maxAgeMs: Math.floor((info.config.max_age ?? 0) / 1e6),
    packed: md[META_FORMAT] === FORMAT_PACKED,
    readAt: Date.now(),
  };
}

/** The stream settings a topic config asks for (partitions only matter at creation). */
function desired(topic: string, partitions: number, config: TopicConfig, replicas: number): Partial<StreamConfig> & { name: string } {
  const maxAgeMs = config.retention?.maxAgeMs;
  const maxBytes = config.retention?.maxBytes;
  const dedupMs = config.duplicateWindowMs ?? 0;
  const age = maxAgeMs ? Math.max(MIN_WINDOW_MS, Math.ceil(maxAgeMs)) : 0;
  let window = dedupMs > 0 ? Math.max(MIN_WINDOW_MS, Math.ceil(dedupMs)) : RETRY_WINDOW_MS;
  // JetStream requires window <= max_age; records older than max_age are gone anyway.
  if (age > 0) window = Math.min(window, age);
  return {
    name: streamName(topic),
    subjects: [`${topic}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    num_replicas: replicas,
    max_age: nanos(age),
    max_bytes: maxBytes ? Math.floor(maxBytes) : -1,
    duplicate_window: nanos(window),
    metadata: { [META_TOPIC]: topic, [META_PARTITIONS]: String(partitions), [META_DEDUP]: String(Math.max(0, Math.ceil(dedupMs))) },
  };
}

export class TopicCatalog {
  private readonly cache = new Map<string, TopicMeta>();

  constructor(
    private readonly jsm: JetStreamManager,
    private readonly replicas: number,
    private readonly retry: RetryOptions,
    private readonly format: TopicFormat = 'packed',
  ) {}

  async ensure(topic: string, config: TopicConfig): Promise<TopicMeta> {
    const partitions = config.partitions;
    if (!Number.isInteger(partitions) || partitions < 1 || partitions > 65536) throw new RangeError(`partitions must be an integer in 1..65536, got ${partitions}`);
    const name = streamName(topic);
    return withRetry(`ensureTopic ${topic}`, this.retry, async () => {
      let info = await this.info(name);
      if (!info) {
        try {
          const create = desired(topic, partitions, config, this.replicas);
          if (this.format === 'packed') create.metadata = { ...create.metadata, [META_FORMAT]: FORMAT_PACKED };
          info = await this.jsm.streams.add(create);
        } catch (e) {
          // Another process created it at the same time (with other settings): update it like an existing one below.
          if (apiCode(e) !== API_CODE.streamNameInUse) throw e;
          info = await this.info(name);
          if (!info) throw e;
        }
      }
      const existing = metaOf(topic, info);
      // The partition count is fixed for the topic's life (keys would move); retention and dedup follow the latest call.
      const want = desired(topic, existing.partitions, config, this.replicas);
      const c = info.config;
      if (c.max_age !== want.max_age || c.max_bytes !== want.max_bytes || c.duplicate_window !== want.duplicate_window
        || c.num_replicas !== want.num_replicas || c.metadata?.[META_DEDUP] !== want.metadata![META_DEDUP]) {
        info = await this.jsm.streams.update(name, {
          ...c,
          max_age: want.max_age!,
          max_bytes: want.max_bytes!,
          duplicate_window: want.duplicate_window!,
          num_replicas: want.num_replicas!,
          metadata: { ...c.metadata, ...want.metadata, [META_PARTITIONS]: String(existing.partitions) },
        });
      }
      const meta = metaOf(topic, info);
      this.cache.set(topic, meta);
      return meta;
    });
  }

  /** The topic's settings, cached; throws DW_STREAM_TOPIC_UNKNOWN if the topic was never created. */
  async get(topic: string): Promise<TopicMeta> {
    const cached = this.cache.get(topic);
    if (cached && Date.now() - cached.readAt < REFRESH_MS) return cached;
    let name: string;
    try {
      name = streamName(topic);
    } catch {
      throw new UnknownTopicError(topic);
    }
    const info = await withRetry(`stream info ${name}`, this.retry, () => this.info(name));
    if (!info) throw new UnknownTopicError(topic);
    const meta = metaOf(topic, info);
    this.cache.set(topic, meta);
    return meta;
  }

  /** Topics of every dronewatch stream on the server (retention walks them all, like the embedded log). */
  async all(): Promise<TopicMeta[]> {
    const out: TopicMeta[] = [];
    for await (const info of this.jsm.streams.list()) {
      const topic = info.config.metadata?.[META_TOPIC];
      if (topic && info.config.metadata?.[META_PARTITIONS]) out.push(metaOf(topic, info));
    }
    return out;
  }

  private async info(name: string): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(name);
    } catch (e) {
      if (apiCode(e) === API_CODE.streamNotFound) return undefined;
      throw e;
    }
  }
}
