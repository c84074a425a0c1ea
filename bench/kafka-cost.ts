/**
 * What a Kafka benchmark span costs: CPU time of this process, of the broker JVMs and of the whole machine (/proc), and
 * the requests this thread's Kafka clients sent, by API (bench/kafka.ts).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { KafkaTestCluster } from '../src/testkit/index.ts';

/** CPU time (ms) of the broker JVMs, read from /proc (the processes whose command line names a node's config file). */
function brokerCpuMs(cluster: KafkaTestCluster): number {
  const configs = cluster.nodes.map((n) => n.configFile);
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!configs.some((c) => cmd.includes(c)) || !cmd.includes('kafka.Kafka')) continue;
      // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited meanwhile
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

/** Busy and total CPU time (ms) of the whole machine, from /proc/stat. */
function machineCpuMs(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  return { busy: ((total - idle) * 1000) / 100, total: (total * 1000) / 100 };
}

/** CPU taken during a span: this process (all threads), the brokers, the machine (everything, others' work included). */
export class CpuSpan {
  private readonly proc = process.cpuUsage();
  private readonly brokers: number;
  private readonly machine = machineCpuMs();
  private readonly t0 = performance.now();
  constructor(private readonly cluster: KafkaTestCluster) {
    this.brokers = brokerCpuMs(cluster);
  }
  end(): { wallMs: number; procMs: number; brokersMs: number; machineBusyMs: number; machineMs: number } {
    const p = process.cpuUsage(this.proc);
    const m = machineCpuMs();
    return {
      wallMs: performance.now() - this.t0,
      procMs: (p.user + p.system) / 1000,
      brokersMs: brokerCpuMs(this.cluster) - this.brokers,
      machineBusyMs: m.busy - this.machine.busy,
      machineMs: m.total - this.machine.total,
    };
  }
}

/** Kafka API keys of the requests counted below (the others are summed as "other"). */
const API_NAMES: Record<number, string> = { 0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit', 9: 'OffsetFetch', 10: 'FindCoordinator', 12: 'Heartbeat' };

/**
 * Requests this thread's Kafka clients sent during a span, by API, from the client's diagnostics channel (one event per
 * request written to a broker). Each request is work for a broker: with the CPU split, this says where theirs goes.
 */
export class RequestCount {
  private readonly counts = new Map<number, number>();
  private readonly onStart = (ctx: unknown): void => {
    const key = (ctx as { apiKey?: number }).apiKey ?? -1;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  };
  constructor() {
    subscribe('tracing:plt:kafka:connections:api:start', this.onStart);
  }
  /** Stops counting; requests per 1,000 records, by API. */
  end(records: number): string {
    unsubscribe('tracing:plt:kafka:connections:api:start', this.onStart);
    const named = new Map<string, number>();
    for (const [key, n] of this.counts) {
      const name = API_NAMES[key] ?? 'other';
      named.set(name, (named.get(name) ?? 0) + n);
    }
    const total = [...named.values()].reduce((a, b) => a + b, 0);
    const per = (n: number): string => (n * 1000 / records).toFixed(n * 1000 / records < 10 ? 1 : 0);
    return `${per(total)}: ${[...named].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${per(n)}`).join(', ')}`;
  }
}
