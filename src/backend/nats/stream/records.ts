/** Record <-> NATS message: subject (partition, key), headers, append time. */
import type { JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';
import type { Headers, OutgoingRecord, StreamRecord } from '../../../stream/types.ts';
import { parseSubject } from './names.ts';

/**
 * Carries the record headers as JSON when they cannot travel as NATS headers unchanged: NATS header names are
 * restricted, values lose surrounding whitespace and cannot hold CR/LF, and `Nats-*` names are the server's.
 */
const JSON_HEADER = 'Dw-Headers';
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const RESERVED_RE = /^(nats-|dw-)/i;

function travelsNatively(name: string, value: string): boolean {
  return TOKEN_RE.test(name) && !RESERVED_RE.test(name) && !/[\r\n]/.test(value) && value.trim() === value;
}

/**
 * Throws a TypeError for a record neither NATS publisher (per-record or packed) sends: a key that is not a string, a
 * value that is not bytes, an id that is not a non-empty string.
 */
export function checkOutgoing(r: OutgoingRecord): void {
  if (typeof r.key !== 'string') throw new TypeError('record key must be a string');
  if (!(r.value instanceof Uint8Array)) throw new TypeError('record value must be a Uint8Array');
  if (r.id !== undefined && typeof r.id !== 'string') throw new TypeError('record id must be a string');
  if (r.id === '') throw new TypeError('record id must not be empty');
}

/** NATS headers for a record (undefined when it has none); `msgId` becomes Nats-Msg-Id (de-duplication). */
export function toNatsHeaders(h: Headers | undefined, msgId: string): MsgHdrs {
  const out = natsHeaders();
  out.set('Nats-Msg-Id', msgId);
  if (h === undefined) return out;
  const entries = Object.entries(h);
  for (const [k, v] of entries) if (typeof v !== 'string') throw new TypeError(`header "${k}" must be a string`);
  if (entries.every(([k, v]) => travelsNatively(k, v))) {
    for (const [k, v] of entries) out.set(k, v);
  } else if (entries.length > 0) {
    out.set(JSON_HEADER, JSON.stringify(h));
  }
  return out;
}

export function fromNatsHeaders(h: MsgHdrs | undefined): Headers {
  const out: Headers = {};
  if (!h) return out;
  const json = h.get(JSON_HEADER);
  if (json) return JSON.parse(json) as Headers;
  for (const [k, values] of h) {
    if (RESERVED_RE.test(k) || values.length === 0) continue;
    out[k] = values[0]!;
  }
  return out;
}

export function msgToRecord(topic: string, m: JsMsg): StreamRecord {
  const { partition, key } = parseSubject(m.subject);
  return {
    topic,
    partition,
    offset: m.seq,
    key,
    value: m.data,
    headers: fromNatsHeaders(m.headers),
    timestamp: Number(m.timestampNanos / 1_000_000n),
  };
}
