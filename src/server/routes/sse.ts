import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AlertEvent } from '../../alerts/types.ts';
import type { AlertFeed } from '../types.ts';

const HEARTBEAT_MS = 15_000;
/** A subscriber whose socket buffer holds more than this is too slow: it is dropped rather than slowing the others. */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/**
 * Server-Sent Events: every alert event is written to every subscriber's socket the moment the bus emits it
 * (no batching, no polling). Event ids are the alert event ids; `event:` is the event type (raised, updated, ...).
 */
export function sseHandler(feed: AlertFeed) {
  return (req: FastifyRequest, reply: FastifyReply): void => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.write(': dronewatch alert feed\nretry: 1000\n\n');
    const send = (event: AlertEvent): void => {
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        close();
        return;
      }
      res.write(`id: ${event.eventId}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
    };
    const unsubscribe = feed.subscribe(send);
    const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    let closed = false;
    function close(): void {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      res.end();
    }
    req.raw.on('close', close);
  };
}
