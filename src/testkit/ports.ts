import net from 'node:net';

/**
 * TCP ports free on 127.0.0.1 right now, all distinct. The kernel picks them (listen on port 0), so two test runs on
 * one machine do not collide on fixed numbers; a port can still be taken between this call and its use, which the
 * caller sees as a bind failure of the daemon.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
