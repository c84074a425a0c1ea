import type { Config } from '../../config/index.ts';
import { AuditLog, type AuditInput } from '../../security/audit.ts';
import { cliActor, securityDir } from './security.ts';

/**
 * Records a CLI access to personal data (alerts, dead letters, queries, statistics, exports) in the same audit log
 * as the API's, under `cli:<OS user>`: reading the files directly is the host operator's right, but the Law
 * Enforcement Directive wants every consultation logged, whoever makes it. Written before the data is shown.
 */
export function auditCli(config: Config, entry: Omit<AuditInput, 'actor' | 'tenant'> & { tenant?: string }): void {
  if (!config.security.enabled) return;
  const audit = AuditLog.open(securityDir(config));
  try {
    audit.append({ actor: cliActor(), tenant: entry.tenant ?? config.tenant, ...entry });
  } finally {
    audit.close();
  }
}
