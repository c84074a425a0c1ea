import type { Readable } from 'node:stream';

/**
 * Reads a request body up to `max` bytes. `complete` is false when the body goes on past them: reading stops there
 * (the rest is never buffered, however long), and the connection must close after the answer. The stream's error
 * (the client went away) rejects.
 */
export function readBodyUpTo(payload: Readable, max: number): Promise<{ body: Buffer; complete: boolean }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
    };
    function onData(chunk: Buffer | string): void {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (length + b.length < max) {
        chunks.push(b);
        length += b.length;
        return;
      }
      chunks.push(b.subarray(0, max - length));
      length = max;
      stop();
      payload.pause();
      resolve({ body: Buffer.concat(chunks, length), complete: false });
    }
    function onEnd(): void {
      stop();
      resolve({ body: Buffer.concat(chunks, length), complete: true });
    }
    function onError(e: Error): void {
      stop();
      reject(e);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.resume();
  });
}
