import type { FastifyInstance } from 'fastify';

/** How long requests in flight at close may take to finish before their connections are cut. */
export const CLOSE_GRACE_MS = 10_000;
/** How often, while closing, connections that have become idle are closed. */
const IDLE_SWEEP_MS = 50;

/** Keyed by the node server, which a route's encapsulated instance (`req.server`) shares with the root. */
const liveStreams = new WeakMap<object, Set<() => void>>();

/**
 * Registers the end of a long-lived response (an SSE stream) with its server, so that closing the server ends it
 * instead of waiting for the client to leave. Returns the unregistration, for when the stream ends by itself.
 */
export function onServerClose(app: FastifyInstance, end: () => void): () => void {
  let ends = liveStreams.get(app.server);
  if (!ends) liveStreams.set(app.server, ends = new Set());
  ends.add(end);
  return () => { ends.delete(end); };
}

/**
 * Makes `app.close()` finish in seconds, whatever the clients do. Node's `server.close()` waits for every connection
 * to end, and closes only those idle at the moment it is called: a keep-alive connection whose request was in flight
 * then stays open after its answer until the keep-alive timeout (72 s in fastify), and a live stream never ends. So,
 * on close: live streams are ended, connections are closed as soon as they become idle (each request in flight still
 * gets its answer; new requests get 503 from `return503OnClosing`), and after `graceMs` whatever is left is cut.
 */
export function installGracefulClose(app: FastifyInstance, graceMs = CLOSE_GRACE_MS): void {
  app.addHook('preClose', (done) => {
    const server = app.server;
    for (const end of [...(liveStreams.get(server) ?? [])]) end();
    liveStreams.delete(server);
    // inject()-only instances never listened: nothing to wait for.
    if (!server.listening) return done();
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => {
      app.log.warn({ graceMs }, 'requests still in flight at close: connections cut');
      server.closeAllConnections();
    }, graceMs);
    // Neither timer keeps the process alive: they only matter while close() is awaited. The server's 'close'
    // comes once its last connection has ended.
    sweep.unref();
    deadline.unref();
    server.once('close', () => {
      clearInterval(sweep);
      clearTimeout(deadline);
    });
    done();
  });
}
