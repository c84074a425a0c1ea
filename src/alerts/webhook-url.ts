/**
 * What dronewatch lets a webhook URL be, and how it shows one: shared by the sink (logs), the notification policies'
 * validation and the configuration schema, so that a URL refused in one is refused in all.
 */

/**
 * A webhook URL as logs may show it: scheme, host and port only. Receivers often take their secret in the path or the
 * query (a chat service's incoming-webhook URL is a bearer credential). (user:password is refused by validation.)
 */
export function urlForLog(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname.length > 1 || u.search ? '/...' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Why a webhook URL is refused, or undefined: user:password before the host (fetch refuses it, logs would show it). */
export function webhookUrlProblem(url: URL): string | undefined {
  return url.username || url.password ? 'must not hold user:password (put the receiver\'s token in its path or query, or sign with secret)' : undefined;
}

/**
 * Whether `url` is under `prefix` (notifications.allowedUrlPrefixes): the same scheme, host and port, and a path that
 * starts with the prefix's. Parsed, not compared as text: `https://hooks.example.org` as text would also admit
 * `https://hooks.example.org.evil.example/`.
 */
export function urlUnderPrefix(url: URL, prefix: string): boolean {
  let p: URL;
  try {
    p = new URL(prefix);
  } catch {
    return false;
  }
  return url.origin === p.origin && url.pathname.startsWith(p.pathname) && (p.search === '' || url.search.startsWith(p.search));
}
