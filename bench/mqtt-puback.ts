/**
 * Does nats-server's QoS 1 PUBACK wait until the message is stored in a JetStream stream capturing its subject?
 * Publish N QoS 1 messages pipelined, kill -9 the server the moment the last PUBACK arrives, restart, count the
 * messages in a work-queue stream capturing drones.*.reports (what DRONES_INBOX is). Finding in docs/stream.md
 * ("MQTT: a QoS 1 PUBACK does not mean the report is stored").
 * Run: node --import tsx bench/mqtt-puback.ts [messages=2000] [nodes=1|3]
 */
import { jetstreamManager, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import mqtt from 'mqtt';
import { startNatsServer } from '../src/testkit/index.ts';

const N = Number(process.argv[2] ?? 2000);
const nodes = Number(process.argv[3] ?? 1) as 1 | 3;
const server = await startNatsServer({ mqtt: true, nodes });
try {
  const nc = await connect({ servers: server.url.split(','), noAsyncTraces: true });
  const jsm = await jetstreamManager(nc, { timeout: 10_000 });
  await jsm.streams.add({ name: 'INBOX', subjects: ['drones.*.reports'], retention: RetentionPolicy.Workqueue, storage: StorageType.File, num_replicas: nodes });
  await nc.close();
  const node = server.nodes[0]!;
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${node.mqttPort}`, { clientId: 'puback-probe', clean: true, reconnectPeriod: 0 });
  let acked = 0;
  const payload = JSON.stringify({ pad: 'x'.repeat(280) });
  const all = Array.from({ length: N }, (_, i) => client.publishAsync(`drones/d${i % 50}/reports`, payload, { qos: 1 }).then(() => { acked++; }));
  await Promise.all(all);
  // Every PUBACK received: crash every node now.
  await Promise.all(server.nodes.map((n) => n.kill('SIGKILL')));
  client.end(true);
  await Promise.all(server.nodes.map((n) => n.restart()));
  const nc2 = await connect({ servers: server.url.split(','), noAsyncTraces: true });
  const jsm2 = await jetstreamManager(nc2, { timeout: 10_000 });
  let stored = -1;
  for (let i = 0; i < 50 && stored < 0; i++) {
    try { stored = (await jsm2.streams.info('INBOX')).state.messages; } catch { await new Promise((r) => setTimeout(r, 200)); }
  }
  console.log(JSON.stringify({ nodes, pubacks: acked, storedAfterCrash: stored, lost: acked - stored }));
  await nc2.close();
} finally {
  await server.stop();
}
