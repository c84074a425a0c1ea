import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * One HTTP/1.1 exchange with a NameNode or a DataNode, through node:http rather than fetch (docs/runtime.md, "WebHDFS
 * and Node 24's fetch"). A DataNode answers every request with `Connection: close` and closes the connection once the
 * body is sent. fetch on Node 24 (undici 7.30) then crashes the process with an uncatchable `AssertionError` in
 * `Parser.finish` when the reader of the body is behind (its parser paused under backpressure) as the connection ends:
 * undici issue 5360, fixed upstream in July 2026 but not in the undici that Node 24.22.3 bundles (7.30.2). Reading a
 * file to disk (`getToFile`) is always behind, so this was not rare. Node 20's undici (6.x) ends such a body without
 * the assertion. node:http's parser has no such state, and it is the same client on Node 20 and 24. It also skips the `100
 * Continue` a DataNode sends to CREATE unasked, on which fetch fails.
 */

/** What a request sends. `body` as a function: a stream made again for each attempt (a large file). */
export interface HttpRequest {
  method: string;
  headers?: OutgoingHttpHeaders;
  body?: Uint8Array | (() => Readable);
  /** Ends the whole exchange, body included, when it fires (AbortSignal.timeout: the request timeout). */
  signal: AbortSignal;
}

/** An answer whose body is still to be read (readBody, or piped). */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/**
 * Idle connections are kept 4 s (undici's default, which fetch used): well under Jetty's idle timeout on the NameNode
 * (60 s), so a reused connection is seldom one the server is closing. Idle sockets do not keep the process alive.
 */
const IDLE_MS = 4000;

/** Each store's own connection pool, so that `close()` ends its connections and no other code shares them. */
export function newAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, timeout: IDLE_MS });
}

/** The reason an aborted exchange failed: the signal's (a TimeoutError) rather than node:http's generic AbortError. */
function failure(e: unknown, signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : e;
}

/** Sends the request and resolves with the answer's status and headers; 1xx answers are skipped. */
export function send(agent: http.Agent, url: string, r: HttpRequest): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    const req = http.request(url, { method: r.method, agent, signal: r.signal, ...(r.headers ? { headers: r.headers } : {}) }, (res) => {
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.on('error', (e) => reject(failure(e, r.signal)));
    if (r.body === undefined) req.end();
    else if (r.body instanceof Uint8Array) req.end(r.body);
    // A failure of the file stream destroys the request: its 'error' rejects above.
    else pipeline(r.body(), req).catch(() => {});
  });
}

/** The whole body of an answer. Rejects when the connection ends before it is complete or the signal fires. */
export async function readBody(answer: HttpAnswer, signal: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of answer.body) chunks.push(c as Buffer);
  } catch (e) {
    throw failure(e, signal);
  }
  return Buffer.concat(chunks);
}

/** Reads and drops a body, so that a kept-alive connection can carry the next request. */
export function discard(answer: HttpAnswer): void {
  answer.body.resume();
}
