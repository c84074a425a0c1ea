import { readFileSync } from 'node:fs';
import { credsAuthenticator, type ConnectionOptions } from '@nats-io/transport-node';

/**
 * How a dronewatch process proves itself to nats-server and checks the server: a user and password, a token, or a
 * credentials file (NATS accounts: a tenant's processes log into that tenant's account), and TLS with a CA (and a
 * client certificate when the server verifies clients). Config `stream.nats` (docs/security.md, docs/operations.md).
 */
export interface NatsClientSecurity {
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  /** A `.creds` file (user JWT + nkey seed) of decentralised NATS auth. */
  credsFile?: string | undefined;
  /** PEM CA bundle that signed the servers' certificates: TLS is then required. */
  tlsCaFile?: string | undefined;
  /** Client certificate and key, for servers with `verify: true`. */
  tlsCertFile?: string | undefined;
  tlsKeyFile?: string | undefined;
}

/** The connect() options of those settings (nothing when none is set). */
export function natsSecurityOptions(s: NatsClientSecurity | undefined): Partial<ConnectionOptions> {
  if (!s) return {};
  const out: Partial<ConnectionOptions> = {};
  if (s.user !== undefined) out.user = s.user;
  if (s.password !== undefined) out.pass = s.password;
  if (s.token !== undefined) out.token = s.token;
  if (s.credsFile !== undefined) {
    const file = s.credsFile;
    // Read at each (re)connect: a rotated credentials file is picked up without a restart.
    out.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  if (s.tlsCaFile !== undefined || s.tlsCertFile !== undefined) {
    out.tls = {
      ...(s.tlsCaFile !== undefined ? { caFile: s.tlsCaFile } : {}),
      ...(s.tlsCertFile !== undefined ? { certFile: s.tlsCertFile } : {}),
      ...(s.tlsKeyFile !== undefined ? { keyFile: s.tlsKeyFile } : {}),
    };
  }
  return out;
}
