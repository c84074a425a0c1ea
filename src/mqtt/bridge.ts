import { createHash } from 'node:crypto';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type ConsumerMessages, type JetStreamManager, type JsMsg, type StreamConfig } from '@nats-io/jetstream';
import { connect, nanos, type NatsConnection } from '@nats-io/transport-node';
import { InvalidReportError } from '../errors/index.ts';
import type { IngestResult } from '../ingest/index.ts';
import { deadLetterOf, publishDeadLetters, type BodyType } from '../ingest/index.ts';
import type { Stream } from '../stream/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import { natsSecurityOptions, type NatsClientSecurity } from '../backend/index.ts';

/** JetStream stream that captures what drones publish over MQTT (`drones/<droneId>/reports` -> `drones.<droneId>.reports`). */
export const MQTT_INBOX_STREAM = 'DRONES_INBOX';
export const MQTT_INBOX_SUBJECT = 'drones.*.reports';

export interface MqttBridgeOptions {
  /** NATS server URLs (the same servers as the stream). */
  servers: string[];
  /** Where reports go: the process's Ingestor (validation, dead letters, `reports` topic). */
  ingest: { ingestRaw(body: Uint8Array | string, type: BodyType, source: string): Promise<IngestResult> };
  /** For the dead letters the bridge itself writes (droneId of the report differs from the MQTT topic). */
  stream: Stream;
  tenant: string;
  /** Credentials and TLS towards nats-server (config `stream.nats`). */
  security?: NatsClientSecurity;
  /** Replicas of the inbox stream and its consumer (config `stream.replicas`). Default 1. */
  replicas?: number;
  /** Messages not yet taken by an ingest process are dropped after this long. Default 24 h. */
  inboxMaxAgeMs?: number;
  /** Messages handed to this process at once (and processed concurrently). Default 500. */
  maxInFlight?: number;
  /** Publish an acknowledgement per message on `drones/<droneId>/acks` once it is stored. Default true. */
  acks?: boolean;
  logger?: Logger;
}

/** What a drone receives on `drones/<droneId>/acks` for each message it published, once the message is stored. */
export interface MqttAck {
  /** Which message: the SHA-256 (hex) of its payload, as the drone can compute it for what it sent. */
  message: string;
  /** Reports now on the `reports` topic (`duplicate`: it was already there; a resend). */
  accepted: { reportId: string; duplicate: boolean }[];
  /** Reports refused and kept as dead letters: resending them does not help. */
  rejected: { index: number; code: string; reason: string }[];
}

export interface MqttBridgeStats {
  /** Messages taken from the inbox (redeliveries included). */
  received: number;
  /** Reports accepted onto the `reports` topic. */
  accepted: number;
  /** Reports (or whole messages) dead-lettered. */
  rejected: number;
  /** Messages handed back for redelivery after a failure to publish. */
  retried: number;
  /** Acknowledgements published to drones (`drones/<droneId>/acks`). */
  acked: number;
}

const ACK_WAIT_MS = 30_000;

/** The id of a message in its acknowledgement: SHA-256 of the payload bytes, hex. */
export function messageHash(payload: Uint8Array | string): string {
  return createHash('sha256').update(payload).digest('hex');
}
const RETRY_DELAY_MS = 1000;

/**
 * Bridges MQTT reports into the platform. nats-server's MQTT listener turns a QoS 1 publish to
 * `drones/<droneId>/reports` into the NATS subject `drones.<droneId>.reports`; the work-queue stream DRONES_INBOX keeps
 * them until an ingest process has published them. All ingest processes share one durable consumer (JetStream hands
 * each message to one of them). A message is acknowledged only after the Ingestor's publish (reports or dead letters)
 * succeeded, so a crash in between redelivers it, and the report id de-duplicates the second publish.
 */
export class MqttBridge {
  private readonly logger: Logger;
  private readonly queue: JsMsg[] = [];
  private readonly counters: MqttBridgeStats = { received: 0, accepted: 0, rejected: 0, retried: 0, acked: 0 };
  private messages: ConsumerMessages | undefined;
  private draining: Promise<void> | undefined;
  private stopped = false;

  private constructor(private readonly nc: NatsConnection, private readonly opts: MqttBridgeOptions) {
    this.logger = opts.logger ?? silentLogger;
  }

  /** Connects, creates the inbox stream and the shared consumer if missing, and starts consuming. */
  static async start(opts: MqttBridgeOptions): Promise<MqttBridge> {
    const nc = await connect({
      servers: opts.servers, name: 'dronewatch-mqtt-bridge', noAsyncTraces: true, maxReconnectAttempts: -1, timeout: 10_000, ...natsSecurityOptions(opts.security),
    });
    const bridge = new MqttBridge(nc, opts);
    try {
      await bridge.open();
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw e;
    }
    return bridge;
  }

  /** The durable consumer name: one per tenant, shared by all ingest processes of that tenant. */
  static consumerName(tenant: string): string {
    return `dronewatch_ingest_${tenant}`;
  }

  private async open(): Promise<void> {
    const jsm = await jetstreamManager(this.nc, { timeout: 10_000 });
    await ensureInbox(jsm, this.opts.replicas ?? 1, this.opts.inboxMaxAgeMs ?? 24 * 3600_000);
    const durable = MqttBridge.consumerName(this.opts.tenant);
    const max = this.opts.maxInFlight ?? 500;
    await jsm.consumers.add(MQTT_INBOX_STREAM, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(ACK_WAIT_MS),
      max_ack_pending: Math.max(max * 2, 1000),
      num_replicas: this.opts.replicas ?? 1,
    });
    const consumer = await jetstream(this.nc).consumers.get(MQTT_INBOX_STREAM, durable);
    this.messages = await consumer.consume({ max_messages: max, callback: (m) => this.enqueue(m) });
    this.logger.info({ stream: MQTT_INBOX_STREAM, durable }, 'mqtt bridge: consuming drone reports');
  }

  stats(): MqttBridgeStats {
    return { ...this.counters };
  }

  private enqueue(m: JsMsg): void {
    this.counters.received++;
    this.queue.push(m);
    this.draining ??= this.drain().finally(() => { this.draining = undefined; });
  }

  /** Processes what has arrived, a batch at a time, concurrently within a batch (their publishes pipeline). */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.opts.maxInFlight ?? 500);
      await Promise.all(batch.map((m) => this.handle(m)));
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    try {
      await this.process(m);
      m.ack();
    } catch (e) {
      // The stream refused the publish (leader election, lost connection): hand the message back, it comes again.
      this.counters.retried++;
      this.logger.warn({ err: e, subject: m.subject }, 'mqtt bridge: report not ingested; redelivered in 1 s');
      m.nak(RETRY_DELAY_MS);
    }
  }

  private async process(m: JsMsg): Promise<void> {
    const droneId = droneOfSubject(m.subject);
    const source = `mqtt:${droneId ?? m.subject}`;
    const mismatch = droneId === undefined
      ? { field: '', reason: `MQTT topic ${m.subject.replaceAll('.', '/')} is not drones/<droneId>/reports` }
      : droneIdMismatch(m.data, droneId);
    if (mismatch) {
      const letter = deadLetterOf(new InvalidReportError([mismatch]), m.data, { receivedAt: Date.now(), source, tenant: this.opts.tenant, index: 0 });
      await publishDeadLetters(this.opts.stream, [letter]);
      this.counters.rejected++;
      this.logger.warn({ source, code: letter.code }, 'mqtt bridge: report rejected'); // not the reason: it may quote the sender's field names
      if (droneId !== undefined) this.acknowledge(droneId, { message: messageHash(m.data), accepted: [], rejected: [{ index: 0, code: letter.code, reason: letter.reason }] });
      return;
    }
    const r = await this.opts.ingest.ingestRaw(m.data, 'json', source);
    this.counters.accepted += r.accepted.length;
    this.counters.rejected += r.rejected.length;
    this.acknowledge(droneId!, {
      message: messageHash(m.data),
      accepted: r.accepted.map((a) => ({ reportId: a.reportId, duplicate: a.duplicate })),
      rejected: r.rejected.map((x) => ({ index: x.index, code: x.code, reason: x.errors.map((e) => (e.field ? `${e.field}: ${e.reason}` : e.reason)).join('; ') })),
    });
  }

  /**
   * The application-level acknowledgement a drone waits for (docs/ARCHITECTURE.md, "MQTT"): nats-server's PUBACK
   * comes before the report is stored, so a drone that must not lose a report keeps it until this message, published
   * on `drones.<droneId>.acks` (MQTT topic `drones/<droneId>/acks`) once the report is on the `reports` topic (or a
   * dead letter). A core publish: if it is lost, the drone sends the report again and the report id makes that a
   * duplicate, acknowledged again.
   */
  private acknowledge(droneId: string, body: MqttAck): void {
    if (this.opts.acks === false) return;
    try {
      this.nc.publish(`drones.${droneId}.acks`, JSON.stringify(body));
      this.counters.acked++;
    } catch (err) {
      this.logger.warn({ err, droneId }, 'mqtt bridge: acknowledgement not sent (the drone will send the report again)');
    }
  }

  /** Stops taking messages, finishes (and acknowledges) those in hand, and closes the connection. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.messages?.stop();
    await this.draining;
    // drain() flushes the acknowledgements still buffered before closing.
    await this.nc.drain().catch(() => undefined);
  }
}

async function ensureInbox(jsm: JetStreamManager, replicas: number, maxAgeMs: number): Promise<void> {
  const cfg: Partial<StreamConfig> & { name: string } = {
    name: MQTT_INBOX_STREAM,
    subjects: [MQTT_INBOX_SUBJECT],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
    max_age: nanos(maxAgeMs),
  };
  try {
    await jsm.streams.info(MQTT_INBOX_STREAM);
    return; // exists: keep its configuration (an operator may have changed it)
  } catch (e) {
    if (!/not found/i.test((e as Error).message)) throw e;
  }
  try {
    await jsm.streams.add(cfg);
  } catch (e) {
    // Another ingest process created it at the same moment.
    if (!/already in use/i.test((e as Error).message)) throw e;
  }
}

/** `drones.d42.reports` -> `d42`; undefined for any other subject. */
export function droneOfSubject(subject: string): string | undefined {
  const parts = subject.split('.');
  return parts.length === 3 && parts[0] === 'drones' && parts[2] === 'reports' && parts[1] ? parts[1] : undefined;
}

/**
 * The report's droneId must be the one of the MQTT topic (a drone may only publish its own reports, and topic ACLs in
 * nats-server are per topic). Payloads that do not parse or have no string droneId are left to the Ingestor's
 * validation, which rejects them with the usual reasons. An array must hold reports of that drone only.
 */
export function droneIdMismatch(payload: Uint8Array, droneId: string): { field: string; reason: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'));
  } catch {
    return undefined;
  }
  const items = Array.isArray(value) ? value : [value];
  for (let i = 0; i < items.length; i++) {
    const item: unknown = items[i];
    const id = item !== null && typeof item === 'object' ? (item as { droneId?: unknown }).droneId : undefined;
    if (typeof id === 'string' && id !== droneId) {
      return {
        field: Array.isArray(value) ? `[${i}].droneId` : 'droneId',
        reason: `"${id}" does not match the MQTT topic drones/${droneId}/reports (a drone publishes only its own reports)`,
      };
    }
  }
  return undefined;
}
