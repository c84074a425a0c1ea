import mqtt, { type MqttClient } from 'mqtt';
import { messageHash, type MqttAck } from '../mqtt/index.ts';
import type { Report } from '../contract/types.ts';
import { SinkFailedError } from './http-sink.ts';
import type { ReportSink } from './runner.ts';

export interface MqttSinkOptions {
  username?: string;
  password?: string;
  /** A report not acknowledged this long after it was sent is sent again (ms). Default 5 s. */
  resendAfterMs?: number;
  /** Give a batch up (SinkFailedError) when it is not all acknowledged after this long (ms). Default 5 minutes. */
  maxRetryMs?: number;
  /** Aborts the batch in progress (the sink call then rejects with the abort reason). */
  signal?: AbortSignal;
  /** Called when reports are sent again: for logging. */
  onResend?: (info: { reports: number; reason: string }) => void;
}

export interface MqttReportSink extends ReportSink {
  close(): Promise<void>;
}

interface Pending {
  topic: string;
  payload: string;
  sentAt: number;
  settle: (ack: MqttAck) => void;
}

/**
 * A sink that behaves as drones should over MQTT (docs/ARCHITECTURE.md, "MQTT"): each report is published with QoS 1
 * to `drones/<droneId>/reports`, and kept until its acknowledgement arrives on `drones/<droneId>/acks` (the
 * message's SHA-256 names it), because nats-server's PUBACK comes before the report is stored. A report not
 * acknowledged within `resendAfterMs` is sent again (its id makes the resend a duplicate for ingestion); a batch
 * resolves once every report of it is acknowledged, and fails if one is refused (a dead letter) or if
 * `maxRetryMs` passes. Resending also covers the client's reconnections after a server restart.
 */
export async function mqttSink(url: string, opts: MqttSinkOptions = {}): Promise<MqttReportSink> {
  const resendAfterMs = opts.resendAfterMs ?? 5000;
  const maxRetryMs = opts.maxRetryMs ?? 300_000;
  const pending = new Map<string, Pending>();
  const client: MqttClient = await mqtt.connectAsync(url, {
    clientId: `dronewatch-sim-${process.pid}-${Date.now()}`, clean: true, reconnectPeriod: 500, connectTimeout: 10_000,
    ...(opts.username !== undefined ? { username: opts.username } : {}), ...(opts.password !== undefined ? { password: opts.password } : {}),
  });
  const subscribe = (): Promise<unknown> => client.subscribeAsync('drones/+/acks', { qos: 1 });
  await subscribe();
  // A clean session forgets subscriptions: subscribe again after every reconnection.
  client.on('connect', () => void subscribe().catch(() => undefined));
  client.on('message', (_topic, payload) => {
    let ack: MqttAck;
    try {
      ack = JSON.parse(payload.toString('utf8')) as MqttAck;
    } catch {
      return;
    }
    const p = pending.get(ack.message);
    if (!p) return; // another sender's, or a repeat after a resend
    pending.delete(ack.message);
    p.settle(ack);
  });

  const send = (p: Pending): void => {
    p.sentAt = Date.now();
    // Fire and forget: the acknowledgement, not the PUBACK, says the report is stored.
    client.publish(p.topic, p.payload, { qos: 1 }, () => undefined);
  };

  const sink = (async (batch: Report[]): Promise<void> => {
    if (batch.length === 0) return;
    const started = Date.now();
    const refused: string[] = [];
    const hashes: string[] = [];
    const acked = batch.map((r) => new Promise<void>((resolve) => {
      const payload = JSON.stringify(r);
      const hash = messageHash(payload);
      hashes.push(hash);
      const entry: Pending = {
        topic: `drones/${r.droneId}/reports`, payload, sentAt: 0,
        settle: (ack) => {
          for (const x of ack.rejected) refused.push(`${r.droneId}: ${x.code} ${x.reason}`);
          resolve();
        },
      };
      pending.set(hash, entry);
      send(entry);
    }));
    const all = Promise.all(acked);
    let done = false;
    void all.then(() => { done = true; });
    while (!done) {
      opts.signal?.throwIfAborted();
      await Promise.race([all, new Promise((r) => setTimeout(r, Math.min(1000, resendAfterMs)))]);
      if (done) break;
      const now = Date.now();
      const late = hashes.flatMap((h) => {
        const p = pending.get(h);
        return p && now - p.sentAt >= resendAfterMs ? [[h, p] as const] : [];
      });
      if (now - started > maxRetryMs) {
        for (const [h] of late) pending.delete(h);
        throw new SinkFailedError(`${late.length} reports not acknowledged on drones/<id>/acks after ${Math.round(maxRetryMs / 1000)} s (${url})`, undefined);
      }
      if (late.length > 0 && client.connected) {
        opts.onResend?.({ reports: late.length, reason: `no acknowledgement within ${resendAfterMs} ms` });
        for (const [, p] of late) send(p);
      }
    }
    if (refused.length > 0) throw new SinkFailedError(`ingestion refused ${refused.length} reports: ${refused.slice(0, 3).join('; ')}`, undefined);
  }) as MqttReportSink;
  sink.close = async () => {
    await client.endAsync();
  };
  return sink;
}
