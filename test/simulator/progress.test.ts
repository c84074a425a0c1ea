import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createProgressBar, formatDuration } from '../../src/util/progress.ts';

function fakeStream(isTTY: boolean, columns = 100): { writes: string[]; isTTY: boolean; columns: number; write(s: string): boolean } {
  return { writes: [], isTTY, columns, write(s: string) { this.writes.push(s); return true; } };
}

describe('createProgressBar', () => {
  it('redraws one line in place on a TTY at most every 100 ms, with percent, count, rate and ETA', () => {
    let t = 0;
    const stream = fakeStream(true);
    const bar = createProgressBar(stream, 10_000, 'backfill', { now: () => t });
    for (let i = 1; i <= 50; i++) {
      t = i * 10; // 50 updates over 500 ms
      bar.update(i * 100);
    }
    assert.ok(stream.writes.length >= 4 && stream.writes.length <= 6, `${stream.writes.length} redraws in 500 ms`);
    const last = stream.writes.at(-1)!;
    assert.ok(last.startsWith('\r\x1b[2Kbackfill ['), JSON.stringify(last));
    // Drawn at t=10, 110, ..., 410 ms: the last shows 4100 done at 10,000/s, 0.59 s left.
    assert.match(last, / 41\.0% 4,100\/10,000 10\.0k\/s ETA 0:01$/);
    assert.ok(!last.includes('\n'));
    bar.done();
    assert.ok(stream.writes.at(-1)!.endsWith('\n'));
    const count = stream.writes.length;
    bar.update(9999);
    bar.done();
    assert.equal(stream.writes.length, count, 'nothing after done()');
  });

  it('fits the bar into narrow terminals', () => {
    const stream = fakeStream(true, 50);
    const bar = createProgressBar(stream, 1_000_000, 'x', { now: () => 1 });
    bar.update(10);
    assert.ok(stream.writes[0]!.replace('\r\x1b[2K', '').length <= 50, stream.writes[0]);
  });

  it('prints plain lines, about once a second, when the stream is not a TTY', () => {
    let t = 0;
    const stream = fakeStream(false);
    const bar = createProgressBar(stream, 1000, 'import', { now: () => t });
    for (let i = 1; i <= 30; i++) {
      t = i * 100; // 3 s
      bar.update(i * 20);
    }
    bar.done();
    assert.ok(stream.writes.length >= 3 && stream.writes.length <= 5, `${stream.writes.length} lines`);
    assert.ok(stream.writes.every((w) => w.endsWith('\n') && !w.includes('\r') && !w.includes('\x1b')));
    assert.equal(stream.writes[0], 'import: 2.0% 20/1,000 200/s ETA 0:05\n');
    assert.equal(stream.writes.at(-1), 'import: done, 600 in 0:03 (200/s)\n');
  });

  it('shows count, rate and elapsed time when the total is unknown', () => {
    let t = 0;
    const stream = fakeStream(false);
    const bar = createProgressBar(stream, Number.POSITIVE_INFINITY, 'realtime', { now: () => t });
    t = 2000;
    bar.update(4000);
    assert.equal(stream.writes[0], 'realtime: 4,000 2000/s elapsed 0:02\n');
  });

  it('formats durations', () => {
    assert.equal(formatDuration(75), '1:15');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(Number.NaN), '-');
  });
});
