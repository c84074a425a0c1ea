/**
 * Where the ingesting thread's allocations go: the alert-latency run (bench/alert-latency-http.ts: the embedded
 * platform with security, alert worker, archive thread and an SSE subscriber in another process, 10,000 reports/s in
 * calls of 100) under V8's sampling heap profiler, counting the objects already collected too (what the young
 * generation's collections cost, not what stays). Prints the megabytes allocated by function (self), the functions
 * named on the command line by their total (self and callees), and the whole thread's. A profiling aid, not a
 * benchmark: the figures quoted in docs/benchmarks.md and docs/stream.md are from alternating runs of two trees.
 * Run: node --import tsx bench/alloc-profile.ts [seconds] [function ...]
 */
import { Session } from 'node:inspector/promises';
import { benchAlertLatencyHttp } from './alert-latency-http.ts';
import { isMain } from './util.ts';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Megabytes by function, self and inclusive (a function counted once per stack however deep it recurses). */
export function allocationsByFunction(head: ProfileNode): { total: number; self: Map<string, number>; inclusive: Map<string, number> } {
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  const walk = (n: ProfileNode, stack: Set<string>): void => {
    const f = n.callFrame;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop()}:${f.lineNumber + 1}`;
    total += n.selfSize;
    self.set(name, (self.get(name) ?? 0) + n.selfSize);
    const inner = new Set(stack).add(name);
    for (const k of inner) inclusive.set(k, (inclusive.get(k) ?? 0) + n.selfSize);
    for (const c of n.children) walk(c, inner);
  };
  walk(head, new Set());
  return { total, self, inclusive };
}

if (isMain(import.meta.url)) {
  const seconds = Number(process.argv[2] ?? 10);
  const named = process.argv.slice(3);
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  // Collected objects included: the options exist in V8's protocol, not in Node's typings.
  await session.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true } as object);
  const run = await benchAlertLatencyHttp({ reportsPerSecond: 10_000, seconds });
  const { profile } = await session.post('HeapProfiler.stopSampling');
  const { total, self, inclusive } = allocationsByFunction(profile.head as unknown as ProfileNode);
  if (total === 0) throw new Error('the profiler took no samples');
  const mb = (b: number): string => (b / 1e6).toFixed(1).padStart(8);
  console.log(`${run['achieved reports/s']} reports/s for ${seconds} s; load average ${(await import('node:os')).loadavg()[0]!.toFixed(2)}`);
  console.log(`${mb(total)} MB allocated by the ingesting thread\n-- by function (self)`);
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${mb(v)} MB ${k}`);
  if (named.length > 0) console.log('-- named (self and callees)');
  for (const [k, v] of inclusive) if (named.some((n) => k.startsWith(`${n} `))) console.log(`${mb(v)} MB ${k}`);
  process.exit(0);
}
