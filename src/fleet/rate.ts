/**
 * Events per second by the time they happened (here: the stream's append time), over the last `windowSeconds`
 * whole seconds. The current second is left out because its records may still be arriving, so the figure does not
 * sag at the start of every second. Memory is one counter per second of the window.
 */
export class RateCounter {
  private readonly counts: Float64Array;
  private readonly seconds: Float64Array;

  constructor(private readonly windowSeconds = 5) {
    this.counts = new Float64Array(windowSeconds + 2);
    this.seconds = new Float64Array(windowSeconds + 2).fill(-1);
  }

  add(atMs: number, n = 1): void {
    const s = Math.floor(atMs / 1000);
    const i = s % this.counts.length;
    if (this.seconds[i] !== s) {
      this.seconds[i] = s;
      this.counts[i] = 0;
    }
    this.counts[i]! += n;
  }

  perSecond(nowMs: number): number {
    const now = Math.floor(nowMs / 1000);
    let total = 0;
    for (let s = now - this.windowSeconds; s < now; s++) {
      const i = ((s % this.counts.length) + this.counts.length) % this.counts.length;
      if (this.seconds[i] === s) total += this.counts[i]!;
    }
    return total / this.windowSeconds;
  }
}
