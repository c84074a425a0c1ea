import type { Headers, StreamRecord } from '../../../stream/types.ts';

/** A record row as read with raw statements: [off, ts, key, value, headers JSON or null]. */
export type RawRow = [number, number, string, Buffer, string | null];

export function toRecord(topic: string, partition: number, row: RawRow): StreamRecord {
  return {
    topic,
    partition,
    offset: row[0],
    key: row[2],
    value: row[3],
    headers: row[4] === null ? {} : (JSON.parse(row[4]) as Headers),
    timestamp: row[1],
  };
}
