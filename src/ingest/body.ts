/** Byte-level helpers for request bodies: they keep each item's exact bytes for the dead letters. */

function isJsonWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
}

export function asBuffer(body: Uint8Array | string): Buffer {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** True when the body's first significant byte (after a byte order mark and whitespace) is `[`. */
export function startsWithArray(body: Buffer): boolean {
  let i = body.length >= 3 && body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  while (i < body.length && isJsonWhitespace(body[i]!)) i++;
  return body[i] === 0x5b;
}

export function isBlank(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (!isJsonWhitespace(bytes[i]!)) return false;
  return true;
}

/**
 * Each NDJSON line with its number (from 0, blank lines counted) and its bytes without the line
 * terminator (`\n` or `\r\n`). A final line without terminator counts; an empty last "line" after a final `\n` does not.
 */
export function* linesOf(body: Buffer): Generator<[line: Buffer, lineNumber: number]> {
  let start = 0;
  let n = 0;
  while (start < body.length) {
    let end = body.indexOf(0x0a, start);
    const next = end < 0 ? body.length : end + 1;
    if (end < 0) end = body.length;
    if (end > start && body[end - 1] === 0x0d) end--;
    yield [body.subarray(start, end), n++];
    start = next;
  }
}
