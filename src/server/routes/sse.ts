import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AlertEvent } from '../../alerts/types.ts';
import type { IncidentEvent } from '../../incidents/types.ts';
import type { AlertFeed } from '../types.ts';
import { onServerClose } from '../graceful-close.ts';

const HEARTBEAT_MS = 15_000;
/** How often a live stream checks that its caller's credential is still valid (logout, disabled user, revoked token). */
const REAUTHORIZE_MS = 5_000;
/** A subscriber whose socket buffer holds more than this is too slow: it is dropped rather than slowing the others. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export interface EventStream {
  /** Writes one event at once (no batching). Does nothing once closed; closes a subscriber that is too far behind. */
  send(event: string, data: unknown, id?: string): void;
  /** Runs when the stream ends (client gone, or dropped for being too slow): unsubscribe there. */
  onClose(fn: () => void): void;
}

/**
 * Takes over the response as a Server-Sent Events stream: headers, no Nagle delay, a `retry` hint, a heartbeat
 * comment every 15 s (so proxies keep the connection), and the slow-subscriber rule. Shared by every live feed.
 */
export function openEventStream(req: FastifyRequest, reply: FastifyReply, banner: string): EventStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.socket?.setNoDelay(true);
  res.write(`: ${banner}\nretry: 1000\n\n`);
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  heartbeat.unref();
  // Without authentication the request has no such check (the plugin is not installed).
  const stillAuthorized = typeof req.stillAuthorized === 'function' ? req.stillAuthorized : undefined;
  const recheck = stillAuthorized
    ? setInterval(() => {
      void stillAuthorized().then((ok) => { if (!ok) close(); }, () => close());
    }, REAUTHORIZE_MS)
    : undefined;
  recheck?.unref();
  const onClose: (() => void)[] = [];
  let closed = false;
  // Closing the server ends the stream (the client reconnects to whichever instance serves next).
  const unregister = onServerClose(req.server, () => close());
  const close = (): void => {
    if (closed) return;
    closed = true;
    unregister();
    clearInterval(heartbeat);
    if (recheck) clearInterval(recheck);
    for (const fn of onClose) fn();
    res.end();
  };
  req.raw.on('close', close);
  return {
    send(event, data, id) {
      if (closed) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        return;
      }
      res.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      // Node's HTTP layer corks the socket at a write and uncorks it on the next tick, i.e. after everything else the
      // sender does in this turn (the alert worker goes on to group the batch's incidents). An alert leaves now.
      if (res.socket?.writableCorked) res.socket.uncork();
    },
    onClose(fn) {
      if (closed) fn();
      else onClose.push(fn);
    },
  };
}

/**
 * Server-Sent Events: every alert event is written to every subscriber's socket the moment the bus emits it
 * (no batching, no polling). Event ids are the alert event ids; `event:` is the event type (raised, updated, ...).
 * With `incidents`, incident changes go on the same stream as `event: incident.<type>` (opened, updated, merged,
 * acknowledged, assigned, resolved), `data:` the IncidentEvent: one connection for the whole live page.
 */
export function sseHandler(feed: AlertFeed, tenantOf: (req: FastifyRequest) => string, incidents?: { subscribe(l: (e: IncidentEvent) => void): () => void }) {
  return (req: FastifyRequest, reply: FastifyReply): void => {
    // A subscriber sees its own tenant's alerts only (the bus carries every tenant's).
    const tenant = tenantOf(req);
    const stream = openEventStream(req, reply, 'dronewatch alert feed');
    stream.onClose(feed.subscribe((event: AlertEvent) => {
      if (event.alert.tenant === tenant) stream.send(event.type, event, event.eventId);
    }));
    if (incidents) {
      stream.onClose(incidents.subscribe((e) => {
        if (e.incident.tenant === tenant) stream.send(`incident.${e.type}`, e, e.eventId);
      }));
    }
  };
}
