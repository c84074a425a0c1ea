/**
 * MQTT drones of two police forces on one nats-server, one NATS account per force (deploy/nats/accounts-example.conf):
 * each force's `ingest` logs into its own account and takes its own drones' reports only; a drone's MQTT user may
 * publish to its own topic only, so it can neither report as another drone nor into another force; a wrong password
 * is refused. Skipped without nats-server >= 2.10.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import type { MqttAck } from '../../src/mqtt/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { TOPICS, type Stream } from '../../src/stream/index.ts';
import { findNatsServer, freePorts, natsServerOrSkip, tempDir } from '../../src/testkit/index.ts';
import { waitUntil } from './helpers.ts';
import { openStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();

const USERS = {
  paris: { service: ['dronewatch-paris', 'svc-paris-pw'], drone: ['paris-drone-1', 'pd1-pw'] },
  lyon: { service: ['dronewatch-lyon', 'svc-lyon-pw'], drone: ['lyon-drone-1', 'ld1-pw'] },
} as const;

function accountsConfig(): string {
  const account = (name: string, u: { service: readonly string[]; drone: readonly string[] }): string => `  ${name}: {
    jetstream: enabled
    users: [
      { user: "${u.service[0]}", password: "${u.service[1]}" }
      { user: "${u.drone[0]}", password: "${u.drone[1]}", permissions: { publish: { allow: ["drones.drone-1.reports"] }, subscribe: { allow: ["drones.drone-1.acks"] } } }
    ]
  }`;
  return `accounts {\n${account('PARIS', USERS.paris)}\n${account('LYON', USERS.lyon)}\n}\n`;
}

function report(droneId: string, citizen: string): string {
  return JSON.stringify({
    droneId, timestamp: new Date(Math.floor(Date.now() / 1000) * 1000 - 30_000).toISOString(),
    position: { lat: 48.85, lon: 2.35 }, citizens: [{ name: citizen, score: 80 }], words: ['bonjour'],
  });
}

describe('MQTT drones of two forces, one NATS account each', { skip, timeout: 90_000 }, () => {
  const tmp = tempDir('dw-mqtt-tenants-');
  let server: ChildProcess | undefined;
  let url = '';
  let mqttUrl = '';
  let conf = '';
  const platforms: Platform[] = [];
  const observers: Stream[] = [];

  before(async () => {
    const { bin } = findNatsServer();
    const [port, httpPort, mqttPort] = await freePorts(3);
    url = `nats://127.0.0.1:${port}`;
    mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
    conf = path.join(tmp.dir, 'nats.conf');
    writeFileSync(conf, [
      'server_name: "accounts1"', `listen: "127.0.0.1:${port}"`, `http: "127.0.0.1:${httpPort}"`,
      `jetstream { store_dir: ${JSON.stringify(path.join(tmp.dir, 'js'))}, sync_interval: always }`,
      `mqtt { listen: "127.0.0.1:${mqttPort}" }`, accountsConfig(),
    ].join('\n'));
    server = spawn(bin, ['-c', conf], { stdio: 'ignore' });
    await waitUntil('nats-server ready', async () => fetch(`http://127.0.0.1:${httpPort}/healthz`).then((r) => r.ok, () => false), 15_000);
    for (const tenant of ['paris', 'lyon'] as const) {
      const [user, password] = USERS[tenant].service;
      const p = await Platform.open(validateConfig({
        dataDir: path.join(tmp.dir, tenant), tenant, security: { enabled: false }, http: { port: 0, host: '127.0.0.1' },
        stream: { url, nats: { user, password } }, ingest: { mqtt: true },
      }));
      platforms.push(p);
      await p.start({ http: 'ingest' });
      observers.push(await openStream(url, { dataDir: tmp.dir, tenant, nats: { user, password } }));
    }
  });

  after(async () => {
    for (const p of platforms) await p.stop();
    for (const o of observers) await o.close();
    server?.kill('SIGKILL');
    tmp.cleanup();
  });

  it("each force's reports land in its own account only; a drone cannot publish as another drone", async () => {
    const publish = async (who: readonly string[], topic: string, body: string): Promise<void> => {
      const c = await mqtt.connectAsync(mqttUrl, { username: who[0], password: who[1], clientId: `${who[0]}-${Date.now()}`, reconnectPeriod: 0, connectTimeout: 5000 });
      try {
        await c.publishAsync(topic, body, { qos: 1 });
      } finally {
        await c.endAsync();
      }
    };
    await publish(USERS.paris.drone, 'drones/drone-1/reports', report('drone-1', 'Paris Citizen'));
    await publish(USERS.lyon.drone, 'drones/drone-1/reports', report('drone-1', 'Lyon Citizen'));
    // Refused by nats-server (MQTT 3.1.1 still answers PUBACK: the message is dropped, not stored).
    await publish(USERS.paris.drone, 'drones/drone-2/reports', report('drone-2', 'Impersonated'));
    await assert.rejects(
      mqtt.connectAsync(mqttUrl, { username: USERS.paris.drone[0], password: 'wrong', reconnectPeriod: 0, connectTimeout: 5000 }),
      /Not authorized|Bad username or password/,
    );

    const citizens = async (o: Stream): Promise<string[]> => (await o.read(TOPICS.reports, { limit: 100 }))
      .map((r) => (JSON.parse(Buffer.from(r.value).toString('utf8')) as { citizens: { name: string }[]; tenant: string }))
      .map((r) => `${r.tenant}:${r.citizens[0]!.name}`);
    await waitUntil('paris report', async () => (await citizens(observers[0]!)).length > 0, 20_000);
    await waitUntil('lyon report', async () => (await citizens(observers[1]!)).length > 0, 20_000);
    await new Promise((r) => setTimeout(r, 500)); // anything refused would have arrived by now
    assert.deepEqual(await citizens(observers[0]!), ['paris:Paris Citizen']);
    assert.deepEqual(await citizens(observers[1]!), ['lyon:Lyon Citizen']);
  });

  it('a drone gets the acknowledgement of its own reports only, in its own force', async () => {
    const [user, password] = USERS.paris.drone;
    const c = await mqtt.connectAsync(mqttUrl, { username: user, password, clientId: `${user}-acks`, reconnectPeriod: 0, connectTimeout: 5000 });
    try {
      const got: { topic: string; body: MqttAck }[] = [];
      c.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString('utf8')) as MqttAck }));
      const own = await c.subscribeAsync('drones/drone-1/acks', { qos: 0 });
      assert.notEqual(own[0]?.qos, 128, 'its own acknowledgements may be read');
      // mqtt.js rejects a SUBACK failure (granted QoS 128).
      await assert.rejects(c.subscribeAsync('drones/drone-2/acks', { qos: 0 }), /Subscribe error/, 'another drone\'s acknowledgements may not be read');
      const body = report('drone-1', 'Acked Citizen');
      await c.publishAsync('drones/drone-1/reports', body, { qos: 1 });
      const id = `drone-1:${Date.parse((JSON.parse(body) as { timestamp: string }).timestamp)}`;
      await waitUntil('the acknowledgement', () => got.some((a) => a.body.accepted.some((x) => x.reportId === id)), 20_000);
      // Lyon's drone-1 reports too: its acknowledgement stays in Lyon's account.
      const lyon = await mqtt.connectAsync(mqttUrl, { username: USERS.lyon.drone[0], password: USERS.lyon.drone[1], clientId: 'lyon-acks', reconnectPeriod: 0, connectTimeout: 5000 });
      await lyon.publishAsync('drones/drone-1/reports', report('drone-1', 'Lyon Acked'), { qos: 1 });
      await lyon.endAsync();
      await new Promise((r) => setTimeout(r, 1000));
      assert.ok(got.every((a) => a.topic === 'drones/drone-1/acks'), 'only its own topic');
      assert.equal(got.flatMap((a) => a.body.accepted).length, 1, `only Paris's report: ${JSON.stringify(got)}`);
    } finally {
      await c.endAsync();
    }
  });

  it('revoking a drone (its user removed, config reloaded) closes its connection at once and refuses it after', async () => {
    const [user, password] = USERS.paris.drone;
    const c = await mqtt.connectAsync(mqttUrl, { username: user, password, clientId: `${user}-revoked`, reconnectPeriod: 0, connectTimeout: 5000 });
    let closed = false;
    c.on('close', () => { closed = true; });
    await c.publishAsync('drones/drone-1/reports', report('drone-1', 'Before Revocation'), { qos: 1 });
    writeFileSync(conf, readFileSync(conf, 'utf8').split('\n').filter((l) => !l.includes(`"${user}"`)).join('\n'));
    server!.kill('SIGHUP'); // nats-server reloads its configuration
    await waitUntil('the revoked drone to be disconnected', () => closed, 10_000);
    await assert.rejects(
      mqtt.connectAsync(mqttUrl, { username: user, password, clientId: `${user}-again`, reconnectPeriod: 0, connectTimeout: 5000 }),
      /Not authorized|Bad username or password/,
    );
    c.end(true);
  });
});

