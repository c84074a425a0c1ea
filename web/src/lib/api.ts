/**
 * The one way the dashboard talks to the server. Every request (JSON, downloads, live streams) goes through
 * `request()`, so the session is handled in one place: the HttpOnly session cookie rides along
 * (`credentials: 'same-origin'`), changes carry the CSRF token, and a 401 sends the officer to the login page
 * through `session.onUnauthorized` (src/state/auth.ts hooks in there).
 */

/** One refused field of a request: `field` as the server names it (`rules[2].threshold`, `rules.2.threshold`, `reason`). */
export interface FieldError { field: string; reason: string }

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly retryAfterSeconds?: number, readonly fields: FieldError[] = []) {
    super(message);
    this.name = 'ApiError';
  }
}

const OFFICER_KEY = 'dronewatch.officer';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The browser's side of the session. The cookie itself is HttpOnly (no script can read or steal it); the CSRF token
 * is kept in memory only, so another site can never learn it, and a reloaded page gets it back from /v1/auth/me.
 */
export const session = {
  /** The session's CSRF token, sent as `x-csrf-token` on every change (POST, PUT, PATCH, DELETE). */
  csrf: null as string | null,
  /**
   * Only when the server runs without authentication (`security.enabled: false`): the name the officer types, sent
   * as `by` on alert changes. With a login, the logged-in name is used instead.
   */
  officer(): string {
    try {
      return localStorage.getItem(OFFICER_KEY) ?? '';
    } catch {
      return '';
    }
  },
  setOfficer(name: string): void {
    try {
      localStorage.setItem(OFFICER_KEY, name.trim());
    } catch {
      // Private mode without storage: the name lasts as long as the page.
    }
  },
  /** Headers a request with this method carries: the CSRF token on changes. */
  headers(method = 'GET'): Record<string, string> {
    return this.csrf && UNSAFE.has(method.toUpperCase()) ? { 'x-csrf-token': this.csrf } : {};
  },
  /** Called on a 401 answer: the login page hooks in here. */
  onUnauthorized: (): void => undefined,
};

/** fetch + session headers + errors as ApiError with the server's `{ code, message }`. */
export async function request(path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  for (const [k, v] of Object.entries(session.headers(init.method))) headers.set(k, v);
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (res.ok) return res;
  if (res.status === 401) session.onUnauthorized();
  let code = `HTTP_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let fields: FieldError[] = [];
  try {
    const body = (await res.json()) as { code?: string; message?: string; errors?: FieldError[] };
    if (body.code) code = body.code;
    if (body.message) message = body.message;
    // The refusals that name their fields (DW_RULES_INVALID, DW_REQUEST_INVALID...): a form shows each beside its field.
    if (Array.isArray(body.errors)) fields = body.errors.filter((e) => typeof e?.field === 'string' && typeof e.reason === 'string');
  } catch {
    // Not JSON: keep the status text.
  }
  const retryAfter = Number(res.headers.get('retry-after'));
  throw new ApiError(res.status, code, message, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined, fields);
}

export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await request(path, { headers: { accept: 'application/json' }, ...(signal ? { signal } : {}) });
  return (await res.json()) as T;
}

export async function sendJson<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await request(path, {
    method,
    headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    ...(signal ? { signal } : {}),
  });
  return (res.status === 204 ? undefined : await res.json()) as T;
}

/**
 * Fetches a file and hands it to the browser as a download. Going through fetch (not a plain link) keeps the one
 * request path, so a download carries the session like every other call.
 */
export async function download(path: string, init: RequestInit = {}, fallbackName = 'download'): Promise<string> {
  const res = await request(path, init);
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

export interface EventStreamHandlers {
  /** Named events (`event:` lines); `message` for unnamed ones. */
  events: Record<string, (data: string, id: string | undefined) => void>;
  /** Connected (again): a client that may have missed events reloads its state here. */
  onOpen?: () => void;
  onDown?: (err: unknown) => void;
}

/**
 * Server-Sent Events over fetch rather than EventSource, so a stream carries the same headers as every request
 * (EventSource cannot send an Authorization header). Reconnects with a growing delay (0.5 s to 5 s).
 */
export function openEventStream(path: string, handlers: EventStreamHandlers): { close(): void } {
  const abort = new AbortController();
  let delay = 500;
  const run = async (): Promise<void> => {
    while (!abort.signal.aborted) {
      try {
        const res = await request(path, { headers: { accept: 'text/event-stream' }, signal: abort.signal, cache: 'no-store' });
        delay = 500;
        handlers.onOpen?.();
        await readEvents(res.body!, handlers.events, abort.signal);
        if (!abort.signal.aborted) handlers.onDown?.(new Error('stream ended'));
      } catch (err) {
        if (abort.signal.aborted) return;
        handlers.onDown?.(err);
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 5000);
    }
  };
  void run();
  return { close: () => abort.abort() };
}

/** The text/event-stream format: events separated by a blank line; `event:`, `data:` (joined by \n), `id:` fields. */
async function readEvents(body: ReadableStream<Uint8Array>, events: EventStreamHandlers['events'], signal: AbortSignal): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  signal.addEventListener('abort', () => void reader.cancel().catch(() => undefined), { once: true });
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + (buf[end] === '\r' ? 4 : 2));
      let event = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split(/\r?\n/)) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = val;
        else if (field === 'data') data.push(val);
        else if (field === 'id') id = val;
      }
      if (data.length > 0) events[event]?.(data.join('\n'), id);
    }
  }
}
