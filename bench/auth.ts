/**
 * What authenticating a request costs, per credential store: the KV store's local copy (distributed mode) and the
 * SQLite store (embedded) against the bare minimum any store pays (SHA-256 of the token and one Map lookup), plus the
 * per-drone ingestion limit against a bare Map lookup. Same machine, same run.
 */
import { createHash } from 'node:crypto';
import { IngestRateLimiter } from '../src/ingest/index.ts';
import { type CredentialStore } from '../src/security/index.ts';
import { natsServerOrSkip, startNatsServer, tempDir } from '../src/testkit/index.ts';
import { isMain, printTable } from './util.ts';
import { connectKvCredentialStore, KvCredentialStore, SecurityStore } from '../src/backend/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };

async function fill(store: CredentialStore, tokens: number): Promise<string[]> {
  await store.ensureTenant('paris');
  await store.createUser({ tenant: 'paris', username: 'bench', roles: ['officer'], password: 'bench-password-1' });
  const out: string[] = [];
  for (let i = 0; i < tokens; i++) out.push((await store.registerDrone('paris', `d-${i}`)).token);
  out.push((await store.createApiToken('bench', 'bench')).token);
  return out;
}

/** Microseconds per resolveBearer over `n` lookups cycling through the tokens. */
async function perLookup(store: CredentialStore, tokens: readonly string[], n: number): Promise<number> {
  for (let i = 0; i < 1000; i++) await store.resolveBearer(tokens[i % tokens.length]!);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const p = await store.resolveBearer(tokens[i % tokens.length]!);
    if (!p) throw new Error('a token did not resolve');
  }
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

export async function benchAuth(opts: { drones: number; lookups: number }): Promise<Record<string, number | string>> {
  const out: Record<string, number | string> = { drones: opts.drones, lookups: opts.lookups };
  // Baseline: hash the token, find it in a Map.
  const map = new Map<string, string>();
  const plain = Array.from({ length: opts.drones }, (_, i) => `dw_drone_${String(i).padStart(43, 'x')}`);
  for (const t of plain) map.set(createHash('sha256').update(t).digest('hex'), t);
  let t0 = process.hrtime.bigint();
  // Twice, the second measured: the stores below are measured after a warm-up too.
  for (const pass of [0, 1]) {
    t0 = process.hrtime.bigint();
    for (let i = 0; i < opts.lookups; i++) if (!map.get(createHash('sha256').update(plain[i % plain.length]!).digest('hex'))) throw new Error('miss');
    if (pass === 1) out['baseline sha256 + Map, µs/check'] = Number(process.hrtime.bigint() - t0) / 1000 / opts.lookups;
  }

  const tmp = tempDir('dw-bench-auth-');
  const sqlite = SecurityStore.open(tmp.dir, { scrypt: FAST });
  try {
    out['sqlite store, µs/check'] = await perLookup(sqlite, await fill(sqlite, opts.drones), opts.lookups);
  } finally {
    sqlite.close();
  }
  const skip = natsServerOrSkip();
  if (skip) out['kv store'] = `skipped: ${skip}`;
  else {
    const nats = await startNatsServer();
    const kv = await connectKvCredentialStore({ servers: [nats.url], scrypt: FAST });
    try {
      const tokens = await fill(kv, opts.drones);
      out['kv store (local copy), µs/check'] = await perLookup(kv, tokens, opts.lookups);
      // What a new process pays before serving: copying both buckets (every drone credential) into memory.
      const s0 = process.hrtime.bigint();
      const second = await connectKvCredentialStore({ servers: [nats.url], scrypt: FAST });
      out['kv store, start-up copy of the buckets, ms'] = Number(process.hrtime.bigint() - s0) / 1e6;
      await second.close();
    } finally {
      await kv.close();
      await nats.stop();
    }
  }
  tmp.cleanup();

  const limiter = new IngestRateLimiter({ perSecond: 1, burst: 1_000_000_000 });
  const keys = Array.from({ length: opts.drones }, (_, i) => `paris/d-${i}`);
  t0 = process.hrtime.bigint();
  for (let i = 0; i < opts.lookups; i++) limiter.take(keys[i % keys.length]!);
  out['per-drone limit take(), ns/request'] = Number(process.hrtime.bigint() - t0) / opts.lookups;
  const counts = new Map<string, number>(keys.map((k) => [k, 0]));
  t0 = process.hrtime.bigint();
  for (let i = 0; i < opts.lookups; i++) {
    const k = keys[i % keys.length]!;
    counts.set(k, counts.get(k)! + 1);
  }
  out['baseline Map get+set, ns/request'] = Number(process.hrtime.bigint() - t0) / opts.lookups;
  return out;
}

if (isMain(import.meta.url)) printTable('auth', await benchAuth({ drones: 5_000, lookups: 200_000 }));
