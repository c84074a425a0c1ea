/**
 * The production Kafka examples in deploy/kafka/ are exactly what the testkit's writer produces for the production
 * inputs, so the cluster the tests start and the one we deploy cannot drift apart. No JVM is started here.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaLog4j2Properties, kafkaProductionNode, kafkaServerProperties } from '../../src/testkit/index.ts';

const DEPLOY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/kafka');

/** key -> value of the non-comment lines (what Kafka reads). */
function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    assert.ok(eq > 0, `not a key=value line: ${line}`);
    const key = line.slice(0, eq);
    assert.ok(!out.has(key), `${key} set twice`);
    out.set(key, line.slice(eq + 1));
  }
  return out;
}

describe('deploy/kafka examples', () => {
  for (const n of [1, 2, 3] as const) {
    it(`node-${n}.properties is kafkaServerProperties(kafkaProductionNode(${n}))`, () => {
      const file = readFileSync(path.join(DEPLOY, `node-${n}.properties`), 'utf8');
      assert.equal(file, kafkaServerProperties(kafkaProductionNode(n)));
      const p = parseProperties(file);
      assert.equal(p.get('node.id'), String(n));
      assert.equal(p.get('advertised.listeners'), `PLAINTEXT://kafka-${n}.example.internal:9092`);
      assert.equal(p.get('default.replication.factor'), '3');
      assert.equal(p.get('min.insync.replicas'), '2');
      assert.equal(p.get('unclean.leader.election.enable'), 'false');
      assert.equal(p.get('auto.create.topics.enable'), 'false');
    });
  }

  it('the three nodes differ only in node.id and advertised.listeners, and share one voter list', () => {
    const nodes = [1, 2, 3].map((n) => parseProperties(readFileSync(path.join(DEPLOY, `node-${n}.properties`), 'utf8')));
    const strip = (m: Map<string, string>): string[] => [...m].filter(([k]) => k !== 'node.id' && k !== 'advertised.listeners').map(([k, v]) => `${k}=${v}`);
    assert.deepEqual(strip(nodes[1]!), strip(nodes[0]!));
    assert.deepEqual(strip(nodes[2]!), strip(nodes[0]!));
    assert.equal(nodes[0]!.get('controller.quorum.voters'),
      '1@kafka-1.example.internal:9093,2@kafka-2.example.internal:9093,3@kafka-3.example.internal:9093');
  });

  it('log4j2.properties is kafkaLog4j2Properties()', () => {
    assert.equal(readFileSync(path.join(DEPLOY, 'log4j2.properties'), 'utf8'), kafkaLog4j2Properties());
  });

  it('refuses settings under which no acks=all write could succeed, or a node outside its quorum', () => {
    assert.throws(() => kafkaServerProperties({ ...kafkaProductionNode(1), minInsyncReplicas: 4 }), /min\.insync\.replicas 4 > replication factor 3/);
    assert.throws(() => kafkaServerProperties({ ...kafkaProductionNode(1), nodeId: 7 }), /node 7 is not in its own voter list/);
  });

  it('appends overrides after the shared settings (later keys win in a properties file)', () => {
    const text = kafkaServerProperties({ ...kafkaProductionNode(1), overrides: { 'broker.session.timeout.ms': 3000 } });
    assert.ok(text.trimEnd().endsWith('broker.session.timeout.ms=3000'));
  });
});
