/** Real HTTP receivers on loopback for notification tests: each records what it was sent and when. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  headers: Record<string, string | string[] | undefined>;
  body: {
    eventId: string;
    type: string;
    alert: { alertId: string; tenant: string; severity: string; citizen: string };
    notification?: { kind: string; route: string; policyVersion: number; level?: number; repeat?: number };
  };
}

export interface Receiver {
  url: string;
  got: Received[];
  /** Requests answered so far, failures included. */
  requests: number;
  /** The next `n` requests are answered with `status` (then 200 again). */
  failNext(n: number, status: number): void;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  let failing = 0;
  let failStatus = 503;
  const r: Receiver = {
    url: '', got: [], requests: 0,
    failNext(n, status) { failing = n; failStatus = status; },
    close: () => new Promise((done) => { server.closeAllConnections(); server.close(() => done()); }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      if (failing > 0) {
        failing--;
        res.writeHead(failStatus).end('not now');
        return;
      }
      r.got.push({ at: Date.now(), headers: req.headers, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received['body'] });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return r;
}
