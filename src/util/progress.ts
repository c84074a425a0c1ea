/** What the progress bar needs of a stream: process.stderr and process.stdout qualify. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressBar {
  /** Sets the count done so far (absolute, not an increment). Redraws at most every ~100 ms (TTY) or 1 s (lines). */
  update(n: number): void;
  /** Draws the final state and ends the line. Later calls do nothing. */
  done(): void;
}

export interface ProgressBarOptions {
  /** Clock in ms (tests). Default performance.now. */
  now?: () => number;
  /** Minimum interval between redraws on a TTY. Default 100 ms. */
  ttyIntervalMs?: number;
  /** Minimum interval between plain lines when the stream is not a TTY (logs, CI). Default 1000 ms. */
  lineIntervalMs?: number;
}

function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return '-';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(1)}M`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k`;
  return String(Math.round(perSecond));
}

/** 75 s -> "1:15", 3725 s -> "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/**
 * A progress display for long CLI jobs: percent, count, rate and ETA. On a terminal it redraws one line in place; on
 * anything else (a file, a pipe, CI logs) it prints a plain line now and then, so logs stay readable.
 * A total <= 0 or not finite means "unknown": only the count, rate and elapsed time are shown.
 */
export function createProgressBar(stream: ProgressStream, total: number, label: string, opts: ProgressBarOptions = {}): ProgressBar {
  const now = opts.now ?? (() => performance.now());
  const tty = stream.isTTY === true;
  const interval = tty ? (opts.ttyIntervalMs ?? 100) : (opts.lineIntervalMs ?? 1000);
  const known = Number.isFinite(total) && total > 0;
  const started = now();
  let count = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let finished = false;

  const stats = (): { pct: string; counts: string; rate: string; eta: string; elapsed: string } => {
    const elapsedS = (now() - started) / 1000;
    // Under a tenth of a second the rate is noise (a first batch after 1 ms reads as millions per second).
    const perSecond = elapsedS >= 0.1 ? count / elapsedS : Number.NaN;
    const remaining = known ? Math.max(0, total - count) : Number.NaN;
    return {
      pct: known ? `${Math.min(100, (count / total) * 100).toFixed(1)}%` : '',
      counts: known ? `${formatCount(count)}/${formatCount(total)}` : formatCount(count),
      rate: `${formatRate(perSecond)}/s`,
      eta: known && perSecond > 0 ? formatDuration(remaining / perSecond) : '-',
      elapsed: formatDuration(elapsedS),
    };
  };

  const ttyLine = (): string => {
    const s = stats();
    if (!known) return `${label} ${s.counts} ${s.rate} elapsed ${s.elapsed}`;
    const tail = ` ${s.pct} ${s.counts} ${s.rate} ETA ${s.eta}`;
    const columns = stream.columns ?? 80;
    const width = Math.max(0, Math.min(40, columns - label.length - tail.length - 4));
    if (width < 5) return `${label}${tail}`;
    const filled = Math.round((Math.min(count, total) / total) * width);
    return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]${tail}`;
  };

  const plainLine = (): string => {
    const s = stats();
    return known ? `${label}: ${s.pct} ${s.counts} ${s.rate} ETA ${s.eta}\n` : `${label}: ${s.counts} ${s.rate} elapsed ${s.elapsed}\n`;
  };

  const draw = (): void => {
    lastDraw = now();
    // \r + "erase line" redraws in place without leaving the tail of a longer previous line.
    stream.write(tty ? `\r\x1b[2K${ttyLine()}` : plainLine());
  };

  return {
    update(n: number): void {
      if (finished) return;
      count = n;
      if (now() - lastDraw >= interval) draw();
    },
    done(): void {
      if (finished) return;
      finished = true;
      if (tty) {
        stream.write(`\r\x1b[2K${ttyLine()}\n`);
      } else {
        const s = stats();
        stream.write(`${label}: done, ${formatCount(count)} in ${s.elapsed} (${s.rate})\n`);
      }
    },
  };
}
