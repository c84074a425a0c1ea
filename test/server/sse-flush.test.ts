import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import Fastify from 'fastify';
import { openEventStream, type EventStream } from '../../src/server/routes/sse.ts';

/** A client on its own thread (own event loop): it reads while the server's thread is busy. Posts the wall time of each event. */
const CLIENT = `
const http = require('node:http');
const { parentPort, workerData } = require('node:worker_threads');
http.get(workerData.url, (res) => {
  res.setEncoding('utf8');
  res.on('data', (chunk) => {
    if (chunk.startsWith(':')) parentPort.postMessage({ open: true });
    if (chunk.includes('event: alert')) parentPort.postMessage({ at: Date.now() });
  });
});
`;

test('an event leaves on the socket when it is sent, not after the rest of the sender\'s turn', async () => {
  const app = Fastify();
  let stream: EventStream | undefined;
  app.get('/feed', (req, reply) => {
    stream = openEventStream(req, reply, 'test feed');
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as { port: number };
  const client = new Worker(CLIENT, { eval: true, workerData: { url: `http://127.0.0.1:${port}/feed` } });
  try {
    const [first] = await once(client, 'message') as [{ open?: boolean }];
    assert.equal(first.open, true);
    const received = once(client, 'message') as Promise<[{ at: number }]>;
    stream!.send('alert', { n: 1 });
    // The rest of the sender's turn (the alert worker goes on to group incidents): the event must not wait for it.
    const busyUntil = Date.now() + 400;
    while (Date.now() < busyUntil) { /* busy */ }
    const [{ at }] = await received;
    assert.ok(at < busyUntil - 200, `the event arrived ${at - busyUntil} ms after the sender's turn ended (it should arrive during it)`);
  } finally {
    await client.terminate();
    await app.close();
  }
});
