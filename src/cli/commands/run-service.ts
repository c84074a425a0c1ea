import type { Config } from '../../config/index.ts';
import { Platform, type PlatformComponents } from '../../runtime/platform.ts';
import { formatSummary, type SummarySnapshot } from '../../runtime/summary.ts';
import { logger, untilSignal } from './common.ts';

export interface ServiceRun {
  platform: Platform;
  /** Stops the service as a signal would (tests). */
  stop: () => Promise<void>;
  done: Promise<void>;
}

/**
 * Runs components until SIGINT/SIGTERM (or until a finite simulator run ends, with `untilSimulatorDone`), printing the
 * live summary: on a terminal one line rewritten every second, otherwise a line every `summaryEveryMs`.
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
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => { requestStop = resolve; });
  const signal = untilSignal();
  const done = (async () => {
    const ended = opts.untilSimulatorDone ? platform.simulatorDone() : new Promise<never>(() => {});
    await Promise.race([signal.received, ended, stopRequested]);
    signal.dispose();
    if (timer) clearInterval(timer);
    await platform.stop();
    if (opts.summary !== false) {
      print();
      out.write('\n');
    }
  })();
  const stop = async (): Promise<void> => {
    requestStop();
    await done;
  };
  return { platform, stop, done };
}
