import http from 'node:http';

/** A minimal SSE client for the benchmarks: calls back with each event's data line and the wall-clock receive time. */
export function subscribeSse(url: string, onEvent: (data: string, at: number) => void): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        const at = performance.timeOrigin + performance.now();
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const line = block.split('\n').find((l) => l.startsWith('data: '));
          if (line) onEvent(line.slice(6), at);
        }
      });
      resolve(() => req.destroy());
    });
    req.on('error', reject);
  });
}
