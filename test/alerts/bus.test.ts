import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBus, type AlertEvent } from '../../src/alerts/index.ts';
import { compileRules, evaluateReport } from '../../src/alerts/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { alertsConfig, report } from './helpers.ts';
import { openAlertStore } from '../../src/backend/index.ts';

function events(n: number): AlertEvent[] {
  const tmp = tempDir();
  const store = openAlertStore({ dataDir: tmp.dir });
  try {
    const rules = compileRules(alertsConfig);
    return Array.from({ length: n }, (_, i) => {
      const r = report({ droneId: `d${i}`, citizens: [{ name: 'ann', score: 1 }] });
      return store.applyReport(r, evaluateReport(r, rules))[0]!;
    });
  } finally {
    store.close();
    tmp.cleanup();
  }
}

describe('alert bus', () => {
  const [e1, e2, e3] = events(3);

  it('fans out synchronously to every listener, in subscription order', () => {
    const bus = new AlertBus();
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(`a:${e.eventId}`));
    bus.subscribe((e) => seen.push(`b:${e.eventId}`));
    assert.equal(bus.publish(e1!), true);
    assert.deepEqual(seen, [`a:${e1!.eventId}`, `b:${e1!.eventId}`]);
  });

  it('keeps delivering when a listener throws', () => {
    const bus = new AlertBus();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('boom');
    });
    bus.subscribe((e) => seen.push(e.eventId));
    bus.publish(e1!);
    bus.publish(e2!);
    assert.deepEqual(seen, [e1!.eventId, e2!.eventId]);
    assert.equal(bus.stats().listenerErrors, 2);
  });

  it('unsubscribes, also from inside a listener', () => {
    const bus = new AlertBus();
    const seen: string[] = [];
    const off = bus.subscribe((e) => {
      seen.push(e.eventId);
      off();
    });
    bus.subscribe((e) => seen.push(`other:${e.eventId}`));
    bus.publish(e1!);
    bus.publish(e2!);
    assert.deepEqual(seen, [e1!.eventId, `other:${e1!.eventId}`, `other:${e2!.eventId}`]);
    assert.equal(bus.listenerCount, 1);
  });

  it('drops an event id it delivered recently, within a bounded memory', () => {
    const bus = new AlertBus({ recentIds: 2 });
    const seen: string[] = [];
    bus.subscribe((e) => seen.push(e.eventId));
    assert.equal(bus.publish(e1!), true);
    assert.equal(bus.publish(e1!), false);
    bus.publish(e2!);
    bus.publish(e3!); // e1 leaves the memory
    assert.equal(bus.publish(e1!), true);
    assert.deepEqual(seen, [e1!.eventId, e2!.eventId, e3!.eventId, e1!.eventId]);
  });
});
