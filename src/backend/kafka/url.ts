import { ConfigError } from '../../errors/index.ts';

/** `host:port` with a DNS name, an IPv4 address or a bracketed IPv6 address. */
const HOST_PORT_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

/**
 * The broker list of a `kafka://host:9092[,host2:9092...]` URL (`stream.url`). Credentials, paths and query strings are
 * refused rather than ignored: a URL that carries something we would silently drop is a configuration mistake.
 */
export function kafkaBrokers(url: string): string[] {
  const bad = (reason: string): ConfigError =>
    new ConfigError(`stream.url "${url}" is not a Kafka URL: ${reason}`, [{ field: 'stream.url', reason }]);
  if (typeof url !== 'string' || !url.startsWith('kafka://')) throw bad('must start with kafka://');
  const rest = url.slice('kafka://'.length).replace(/\/$/, '');
  if (rest.length === 0) throw bad('must name at least one broker as host:port');
  if (/[/?#@]/.test(rest)) throw bad('must be kafka://host:port[,host:port...] without credentials, path or query');
  const brokers = rest.split(',').map((s) => s.trim());
  for (const b of brokers) {
    const m = HOST_PORT_RE.exec(b);
    if (!m) throw bad(`"${b}" is not host:port`);
    const port = Number(m[1]);
    if (port < 1 || port > 65535) throw bad(`port of "${b}" must be 1..65535`);
  }
  return brokers;
}
