import type { Config } from '../../config/index.ts';
import { Platform, type PlatformComponents } from '../../runtime/platform.ts';
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
  const platform = await Platform.open(config, { logger: logger(name) });
  try {
    await platform.start(components);
  } catch (err) {
    await platform.stop();
    throw err;
  }
  if (opts.banner) out.write(`${opts.banner(platform)}\n`);
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
