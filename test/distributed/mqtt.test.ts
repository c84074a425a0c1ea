/**
 * MQTT ingestion: a drone publishes with QoS 1 to `drones/<droneId>/reports` on nats-server's MQTT listener (real
 * `mqtt` client); `dronewatch ingest --mqtt` takes them from the DRONES_INBOX stream through the same Ingestor as HTTP:
 * valid ones reach the `reports` topic (and an `alerts` worker raises alerts for low scores), invalid, malformed and
 * mismatched ones (droneId other than the topic's) become dead letters. Skipped without nats-server >= 2.10.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import type { AlertEvent } from '../../src/alerts/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { ConfigError } from '../../src/errors/index.ts';
import { listDeadLetters } from '../../src/ingest/index.ts';
import { MQTT_INBOX_STREAM, droneIdMismatch, droneOfSubject, messageHash, type MqttAck } from '../../src/mqtt/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { makeReports, startService, waitUntil, type Service } from './helpers.ts';
import { NatsStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();

describe('MQTT ingestion through nats-server and `dronewatch ingest --mqtt`', { skip, timeout: 90_000 }, () => {
  const tmp = tempDir('dw-mqtt-');
  let nats: NatsTestServer | undefined;
  let observer: NatsStream | undefined;
  const services: Service[] = [];

  before(async () => {
    nats = await startNatsServer({ mqtt: true });
  });

  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
    await observer?.close();
    await nats?.stop();
    tmp.cleanup();
  });

  it('valid QoS 1 reports reach the reports topic and raise alerts; invalid and mismatched ones are dead letters', async () => {
    const node = nats!.nodes[0]!;
    const dir = (name: string): string[] => ['--stream', nats!.url, '--data', path.join(tmp.dir, name)];
    const start = async (...a: Parameters<typeof startService>): Promise<Service> => {
      const s = await startService(...a);
      services.push(s);
      return s;
    };
    await Promise.all([
      start('ingest', [...dir('ingest'), 'ingest', '--port', '0', '--mqtt'], /^mqtt: taking drone reports/),
      start('alerts', [...dir('alerts'), 'alerts'], /alert consumer running/),
    ]);

    const { reports, low } = makeReports({ drones: 6, perDrone: 10, lowEvery: 7, prefix: 'mq' });
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId: 'drone-fleet-test', clean: true, reconnectPeriod: 0 });
    // The application-level acknowledgements (a PUBACK does not mean stored): one message per report message.
    const acks: { topic: string; body: MqttAck }[] = [];
    const sentPayloads: string[] = [];
    client.on('message', (topic, payload) => acks.push({ topic, body: JSON.parse(payload.toString('utf8')) as MqttAck }));
    await client.subscribeAsync('drones/+/acks', { qos: 1 });
    try {
      // Each publish resolves on PUBACK (QoS 1); they pipeline.
      await Promise.all(reports.map((r) => client.publishAsync(`drones/${r.droneId}/reports`, JSON.stringify(r), { qos: 1 })));
      sentPayloads.push(...reports.map((r) => JSON.stringify(r)));
      const invalid = { ...reports[0]!, citizens: [{ name: 'X', score: 140 }] };
      await client.publishAsync(`drones/${invalid.droneId}/reports`, JSON.stringify(invalid), { qos: 1 });
      await client.publishAsync('drones/mq-0/reports', '{"droneId": "mq-0", "timestamp": ', { qos: 1 });
      const stolen = { ...reports[1]!, droneId: 'mq-1', timestamp: new Date(Date.now() - 5000).toISOString() };
      await client.publishAsync('drones/mq-0/reports', JSON.stringify(stolen), { qos: 1 });
      await waitUntil('an acknowledgement for every message', () => acks.length >= reports.length + 3, 20_000);
    } finally {
      await client.endAsync();
    }
    const acked = acks.flatMap((a) => a.body.accepted.map((x) => x.reportId)).sort();
    assert.deepEqual(acked, reports.map((r) => `${r.droneId}:${Date.parse(r.timestamp)}`).sort(), 'every stored report is acknowledged, by its id');
    assert.ok(acks.every((a) => a.body.accepted.every((x) => a.topic === `drones/${x.reportId.split(':')[0]}/acks`)), 'on its own drone\'s topic');
    const named = new Set(acks.map((a) => a.body.message));
    assert.ok(sentPayloads.every((p) => named.has(messageHash(p))), 'each acknowledgement names its message by the SHA-256 of the payload the drone sent');
    const refused = acks.flatMap((a) => a.body.rejected.map((x) => `${a.topic} ${x.code}`)).sort();
    assert.equal(refused.length, 3, `the 3 refused messages are acknowledged as refused: ${refused.join(' | ')}`);
    assert.ok(refused.every((r) => r.startsWith('drones/mq-0/acks DW_INGEST_')), refused.join(' | '));

    observer = await NatsStream.connect({ servers: nats!.url });
    const reportIds = async (): Promise<string[]> => (await observer!.read(TOPICS.reports, { limit: 10_000 }))
      .map((r) => (JSON.parse(Buffer.from(r.value).toString('utf8')) as { reportId: string }).reportId);
    await waitUntil(`${reports.length} reports on the reports topic`, async () => (await reportIds()).length >= reports.length, 20_000);
    await waitUntil('3 dead letters', async () => (await listDeadLetters(observer!, { limit: 100 })).length >= 3, 20_000);
    const raised = async (): Promise<AlertEvent[]> => (await observer!.read(TOPICS.alerts, { limit: 10_000 }))
      .map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as AlertEvent).filter((e) => e.type === 'raised');
    await waitUntil(`${low.size} alerts`, async () => (await raised()).length >= low.size, 20_000);

    const expected = reports.map((r) => `${r.droneId}:${Date.parse(r.timestamp)}`).sort();
    assert.deepEqual((await reportIds()).sort(), expected, 'every valid MQTT report on the reports topic once, nothing else');
    assert.deepEqual((await raised()).map((e) => e.alert.firstReportId).sort(), [...low].sort(), 'one alert per low-score MQTT report');

    const letters = await listDeadLetters(observer, { limit: 100 });
    assert.equal(letters.length, 3, `3 dead letters: ${letters.map((l) => l.reason).join(' | ')}`);
    for (const l of letters) assert.match(l.source, /^mqtt:mq-0$/, `dead letter source names the MQTT drone: ${l.source}`);
    assert.ok(letters.some((l) => /citizens\[0\]\.score: must be <= 100/.test(l.reason)), 'the invalid score is a dead letter with its reason');
    assert.ok(letters.some((l) => l.code === 'DW_INGEST_MALFORMED' || /JSON/i.test(l.reason)), `the truncated JSON is a dead letter: ${letters.map((l) => `${l.code} ${l.reason}`).join(' | ')}`);
    const mismatch = letters.find((l) => /does not match the MQTT topic drones\/mq-0\/reports/.test(l.reason));
    assert.ok(mismatch, 'the report of another drone is a dead letter naming the topic');
    assert.match(Buffer.from(mismatch.rawBase64, 'base64').toString('utf8'), /"droneId":"mq-1"/, 'the dead letter keeps the raw payload');

    // Every message acknowledged after its publish: the work-queue inbox is empty.
    const nc = await connect({ servers: node.url });
    try {
      const jsm = await jetstreamManager(nc);
      await waitUntil('the MQTT inbox to be empty', async () => (await jsm.streams.info(MQTT_INBOX_STREAM)).state.messages === 0, 10_000);
    } finally {
      await nc.close();
    }

    const codes = await Promise.all(services.splice(0).map(async (s) => [s.name, await s.stop()] as const));
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);
  });
});

describe('ingest.mqtt configuration', () => {
  it('is refused with the embedded stream: MQTT goes through nats-server', async () => {
    const tmp = tempDir('dw-mqtt-conf-');
    const platform = await Platform.open(validateConfig({ dataDir: tmp.dir, http: { port: 0 }, ingest: { mqtt: true } }));
    try {
      await assert.rejects(platform.start({ http: 'ingest' }), (e: unknown) => {
        assert.ok(e instanceof ConfigError, `a ConfigError, got ${String(e)}`);
        assert.match(e.message, /ingest\.mqtt needs a NATS stream/);
        return true;
      });
    } finally {
      await platform.stop();
      tmp.cleanup();
    }
  });
});

describe('MQTT subject and droneId checks', () => {
  const bytes = (v: unknown): Uint8Array => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
  it('reads the droneId from drones.<droneId>.reports only', () => {
    assert.equal(droneOfSubject('drones.d-42.reports'), 'd-42');
    assert.equal(droneOfSubject('drones.d-42.status'), undefined, 'another suffix');
    assert.equal(droneOfSubject('drones..reports'), undefined, 'an empty id');
    assert.equal(droneOfSubject('reports.default.3.d-42'), undefined, 'a platform subject');
  });
  it('flags a report of another drone, leaves the rest to validation', () => {
    assert.equal(droneIdMismatch(bytes({ droneId: 'd1' }), 'd1'), undefined, 'same drone');
    assert.match(droneIdMismatch(bytes({ droneId: 'd2' }), 'd1')?.reason ?? '', /"d2" does not match the MQTT topic drones\/d1\/reports/);
    assert.equal(droneIdMismatch(bytes([{ droneId: 'd1' }, { droneId: 'd9' }]), 'd1')?.field, '[1].droneId', 'an array names the element');
    assert.equal(droneIdMismatch(bytes('{"droneId": '), 'd1'), undefined, 'malformed JSON: the Ingestor rejects it');
    assert.equal(droneIdMismatch(bytes({ droneId: 7 }), 'd1'), undefined, 'a non-string droneId: the Ingestor rejects it');
  });
});
