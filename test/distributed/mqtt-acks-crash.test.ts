/**
 * MQTT drones lose nothing across a nats-server crash when they keep each report until its acknowledgement on
 * `drones/<id>/acks` (nats-server's QoS 1 PUBACK comes before the report is stored: docs/stream.md, "MQTT").
 * A drone publishes reports, nats-server is killed -9 the moment the last PUBACK arrives, then restarted; the drone
 * resends what was not acknowledged. Every report must be on the `reports` topic exactly once. Skipped without
 * nats-server >= 2.10 (a failure with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import mqtt from 'mqtt';
import { validateConfig } from '../../src/config/index.ts';
import type { MqttAck } from '../../src/mqtt/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { waitUntil } from './helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { NatsStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();
const N = 600;

describe('MQTT acknowledgements across a nats-server crash', { skip, timeout: 120_000 }, () => {
  const tmp = tempDir('dw-mqtt-acks-');
  let nats: NatsTestServer;
  let ingest: Platform;

  before(async () => {
    nats = await startNatsServer({ mqtt: true });
    ingest = await Platform.open(validateConfig({
      dataDir: path.join(tmp.dir, 'ingest'), security: { enabled: false }, http: { port: 0, host: '127.0.0.1' },
      stream: { url: nats.url }, ingest: { mqtt: true },
    }));
    await ingest.start({ http: 'ingest' });
  });
  after(async () => {
    await ingest?.stop();
    await nats?.stop();
    tmp.cleanup();
  });

  it('the simulator as MQTT drones: each report kept until acknowledged, all stored once (dronewatch simulate --target mqtt://)', async () => {
    const node = nats.nodes[0]!;
    const observer = await NatsStream.connect({ servers: nats.url });
    try {
      const before = (await observer.read(TOPICS.reports, { limit: 100_000 })).length;
      const r = await runCli(['simulate', '--target', `mqtt://127.0.0.1:${node.mqttPort}`, '--drones', '3', '--seed', '5', '--from', '2026-10-01', '--days', '0.01']);
      assert.equal(r.code, 0, r.stderr);
      const sent = Number(/sent (\d+) reports to mqtt:/.exec(r.stdout)?.[1]);
      assert.ok(sent > 0, r.stdout);
      // The command returned only once every report was acknowledged: they are all on the topic already.
      const after = (await observer.read(TOPICS.reports, { limit: 100_000 })).length;
      assert.equal(after - before, sent, `${sent} simulated reports stored`);
    } finally {
      await observer.close();
    }
  });

  it('a drone that resends until acknowledged loses no report; the resends are stored once', async () => {
    const node = nats.nodes[0]!;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 600_000;
    const reports = Array.from({ length: N }, (_, i) => ({
      droneId: 'crash-drone', timestamp: new Date(t0 + i * 1000).toISOString(), position: { lat: 48.85, lon: 2.35 },
      citizens: [{ name: `Citizen ${i}`, score: 80 }], words: [],
    }));
    const idOf = (r: (typeof reports)[number]): string => `${r.droneId}:${Date.parse(r.timestamp)}`;
    // The drone's side: every report stays pending until an acknowledgement names it.
    const pending = new Map(reports.map((r) => [idOf(r), r]));
    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId: 'crash-drone', clean: true, reconnectPeriod: 200, connectTimeout: 5000 });
    client.on('message', (_topic, payload) => {
      for (const a of (JSON.parse(payload.toString('utf8')) as MqttAck).accepted) pending.delete(a.reportId);
    });
    client.on('connect', () => void client.subscribeAsync('drones/crash-drone/acks', { qos: 0 }).catch(() => undefined));
    try {
      await client.subscribeAsync('drones/crash-drone/acks', { qos: 0 });
      await Promise.all(reports.map((r) => client.publishAsync('drones/crash-drone/reports', JSON.stringify(r), { qos: 1 })));
      // Every PUBACK is in: crash the server now, before all of them are stored.
      await node.kill('SIGKILL');
      const unackedAtCrash = pending.size;
      await node.restart();
      // What survived the crash without any resend: PUBACKed reports missing here were lost by the server.
      const observer = await NatsStream.connect({ servers: nats.url });
      await new Promise((res) => setTimeout(res, 3000));
      const survived = (await observer.read(TOPICS.reports, { limit: 10_000 })).filter((r) => r.key === 'crash-drone').length;
      await observer.close();
      process.stdout.write(`# PUBACKed ${N}, on the reports topic after the restart before any resend: ${survived}\n`);
      // Resend what is not acknowledged, as a drone does, until nothing is pending.
      await waitUntil('every report acknowledged', async () => {
        if (pending.size === 0) return true;
        if (client.connected) for (const r of [...pending.values()].slice(0, 200)) client.publish('drones/crash-drone/reports', JSON.stringify(r), { qos: 1 });
        await new Promise((res) => setTimeout(res, 1000));
        return pending.size === 0;
      }, 60_000);
      process.stdout.write(`# reports not acknowledged when the server was killed: ${unackedAtCrash} of ${N}\n`);
    } finally {
      await client.endAsync(true);
    }
    const observer = await NatsStream.connect({ servers: nats.url });
    try {
      const ids = (await observer.read(TOPICS.reports, { limit: 10_000 })).map((r) => (JSON.parse(Buffer.from(r.value).toString('utf8')) as { reportId: string }).reportId)
        .filter((id) => id.startsWith('crash-drone:'));
      assert.equal(ids.length, N, `every report once on the reports topic (${ids.length} records)`);
      assert.deepEqual([...new Set(ids)].sort(), reports.map(idOf).sort());
    } finally {
      await observer.close();
    }
  });
});
