/**
 * What the store conformance suites of rules and notifications (test/rules/, test/notify/) share: each backend's
 * store on a fresh place (SQLite in a data directory; a shared bucket on log buckets over the embedded log, the code
 * the Kafka backend runs; JetStream KV on a real nats-server, skipped with the reason when it is missing, a failure
 * with CI=true), and the steps of a test (open stores as processes, wait for what another process wrote).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogKvStore, NatsKvStore, SqliteStream, type SharedKvStore } from '../../src/backend/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { kafkaOrSkip, natsServerOrSkip, startKafka, startNatsServer, tempDir } from '../../src/testkit/index.ts';

interface Closable {
  close(): Promise<void>;
}

export interface StoreFixture<S extends Closable> {
  /** Opens a store on the shared place (each call: another process's view). */
  open(): Promise<S>;
  /** The tenant the stores serve (a shared bucket is opened for one tenant). */
  tenant: string;
  cleanup(): Promise<void>;
}

export type Suite<S extends Closable> = (backend: string, fixture: () => Promise<StoreFixture<S>>) => void;

export interface StoreBackends<S extends Closable> {
  /** What the suite checks, e.g. `rule store conformance`: names the skipped NATS suite. */
  title: string;
  /** The SQLite store in `dir` (a data directory). */
  sqlite(dir: string): S;
  /** The shared-bucket store of `tenant` on `kv`, which it owns (closes with itself). */
  kv(kv: SharedKvStore, tenant: string): Promise<S>;
}

/** Runs `suite` once per backend. Stores opened on one place are separate connections: two processes. */
export function onEveryBackend<S extends Closable>(b: StoreBackends<S>, suite: Suite<S>): void {
  suite('sqlite', async () => {
    const tmp = tempDir('dw-store-');
    return { tenant: 'paris', open: async () => b.sqlite(tmp.dir), cleanup: async () => tmp.cleanup() };
  });

  suite('log buckets (Kafka backend) over the embedded log', async () => {
    const tmp = tempDir('dw-store-log-');
    return {
      tenant: 'paris',
      open: async () => b.kv(new LogKvStore(await SqliteStream.open(path.join(tmp.dir, 'stream.db')), { ownsStream: true }), 'paris'),
      cleanup: async () => tmp.cleanup(),
    };
  });

  onNatsServer(`${b.title}: nats`, (url) => suite('nats', async () => {
    // A fresh tenant per test: its own buckets on the one server, so tests do not see each other's writes.
    const tenant = `t${randomUUID().slice(0, 8)}`;
    return { tenant, open: async () => b.kv(await NatsKvStore.connect({ servers: [await url()], name: 'store-test' }), tenant), cleanup: async () => undefined };
  }));
}

/**
 * Declares the suites of `declare` against one real server for the file: started by the first `get()`, stopped after
 * the file's tests. Missing (`skip` says why and how to install it): one skipped test named `title` that says so.
 */
function onTestServer<S extends { stop(): Promise<void> }>(title: string, skip: string | undefined, needs: string, start: () => Promise<S>, declare: (get: () => Promise<S>) => void): void {
  if (skip) {
    describe(title, () => {
      it(needs, { skip }, () => undefined);
    });
    return;
  }
  let server: Promise<S> | undefined;
  after(async () => {
    if (server) await (await server).stop();
  });
  declare(() => (server ??= start()));
}

/** onTestServer with one nats-server: `url()` is its client URL. */
export function onNatsServer(title: string, declare: (url: () => Promise<string>) => void): void {
  onTestServer(title, natsServerOrSkip(), 'needs nats-server >= 2.10', () => startNatsServer(), (get) => declare(async () => (await get()).url));
}

/** onTestServer with a one-node Kafka cluster: `bootstrap()` is its bootstrap list. */
export function onKafka(title: string, declare: (bootstrap: () => Promise<string>) => void): void {
  onTestServer(title, kafkaOrSkip(), 'needs Kafka 4 jars and Java >= 17', () => startKafka({ nodes: 1 }), (get) => declare(async () => (await get()).bootstrap));
}

/** `N` stores, as a tuple the test destructures. */
type Stores<S, N extends number, R extends S[] = []> = R['length'] extends N ? R : Stores<S, N, [...R, S]>;

/** Opens `count` stores on a fresh place of the fixture, runs `body`, then closes them and cleans up, passed or not. */
export async function withStores<S extends Closable, N extends 1 | 2 | 3>(fixture: () => Promise<StoreFixture<S>>, count: N, body: (stores: Stores<S, N>, tenant: string) => Promise<void>): Promise<void> {
  const f = await fixture();
  const stores: S[] = [];
  try {
    for (let i = 0; i < count; i++) stores.push(await f.open());
    await body(stores as Stores<S, N>, f.tenant);
  } finally {
    for (const s of stores) await s.close();
    await f.cleanup();
  }
}

/** Reads until `ok` holds (another process's write arrives within the backend's delivery time); fails with the last read. */
export async function eventually<T>(what: string, read: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > until) assert.fail(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
    await sleep(20);
  }
}

/** For assert.rejects: the error is a DwError with this code. */
export const dwCode = (code: string) => (e: unknown): boolean => isDwError(e) && e.code === code;
