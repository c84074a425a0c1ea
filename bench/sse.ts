import http from 'node:http';

/**
 * A minimal SSE client for the benchmarks: calls back with each event's data line and the wall-clock receive time.
 * Resolves once the server answered 200 (with a function that closes the subscription); any other status rejects with
 * the status and the start of the body, so that a benchmark whose subscriber is refused (401, 403) fails instead of
 * measuring nothing.
 */
export function subscribeSse(url: string, onEvent: (data: string, at: number) => void, headers: Record<string, string> = {}): Promise<() => void> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.setEncoding('utf8');
      if (res.statusCode !== 200) {
        let body = '';
        res.on('data', (chunk: string) => { body += chunk; });
        res.on('end', () => reject(new Error(`SSE subscription to ${url} answered ${res.statusCode}: ${body.slice(0, 300)}`)));
        return;
      }
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
