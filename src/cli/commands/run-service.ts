import type { Config } from '../../config/index.ts';
import type { Platform, PlatformComponents } from '../../runtime/platform.ts';
import { formatSummary, type SummarySnapshot } from '../../runtime/summary.ts';
import { logger, untilSignal } from './common.ts';

export interface ServiceRun {
  platform: Platform;
  /** Resolves once the service has stopped cleanly (consumers flushed, stream closed). */
  done: Promise<void>;
}

/**
 * Runs components until SIGINT/SIGTERM (or until a finite simulator run ends, with `untilSimulatorDone`), printing the
 * live summary: on a terminal one line rewritten every second, otherwise a line every 10 s.
 */
export async function runService(name: string, config: Config, components: PlatformComponents, opts: {
  out?: NodeJS.WriteStream;
  banner?: (p: Platform) => string;
  untilSimulatorDone?: boolean;
  summary?: boolean;
} = {}): Promise<ServiceRun> {
  const out = opts.out ?? process.stdout;
  // Loaded here, not at the top: the platform (HTTP server, consumers, lake writer) is what makes a service, and the
  // CLI's quick commands (users, alerts ack, --help) start without it.
  const { Platform } = await import('../../runtime/platform.ts');
  const platform = await Platform.open(config, { logger: logger(name) });
  try {
    await platform.start(components);
  } catch (err) {
    await platform.stop();
    throw err;
  }
  // One write: whoever reads the banner (a person, a script, a test) has the first-start notice with it.
  const admin = platform.takeBootstrapCredential();
  const notice = admin ? firstAdminNotice(admin, platform.address) : '';
  const metrics = platform.metrics ? `metrics: ${platform.metrics.url}\n` : '';
  if (opts.banner || notice || metrics) out.write(`${opts.banner ? `${opts.banner(platform)}\n` : ''}${metrics}${notice}`);
  const tty = out.isTTY === true;
  let prev: SummarySnapshot | undefined;
  const print = (): void => {
    const cur = platform.snapshot();
    const line = formatSummary(prev, cur);
    prev = cur;
    out.write(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  const timer = opts.summary === false ? undefined : setInterval(print, tty ? 1000 : 10_000);
  const signal = untilSignal();
  const done = (async () => {
    const ended = opts.untilSimulatorDone ? platform.simulatorDone() : new Promise<never>(() => {});
    await Promise.race([signal.received, ended]);
    signal.dispose();
    if (timer) clearInterval(timer);
    await platform.stop();
    if (opts.summary !== false) {
      print();
      if (tty) out.write('\n');
    }
  })();
  return { platform, done };
}

/**
 * The first administrator's password, printed once on the first start (stdout, never the log): it is stored only as a
 * scrypt hash. An admin manages people and drones but sees no personal data, hence the hint to create officers.
 */
function firstAdminNotice(c: { username: string; password: string; tenant: string }, url: string | undefined): string {
  return [
    '',
    '  First start: an administrator was created. Its password is shown this once; keep it safe:',
    `    user ${c.username}  password ${c.password}  (tenant ${c.tenant})`,
    `  Log in at ${url ?? 'the dashboard'}/ or create officers, e.g.:`,
    `    npx dronewatch users create alice --tenant ${c.tenant} --role supervisor`,
    '',
    '',
  ].join('\n');
}
