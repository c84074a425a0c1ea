/**
 * Child of sqlite-open-race.test.ts: opens the audit log of `<base>/<i>` for i in [0, count), each a new data
 * directory, appends one entry and closes it; prints how many opens failed and the first errors, as JSON.
 */
import path from 'node:path';
import { AuditLog } from '../../src/security/audit.ts';

const [base, countArg] = process.argv.slice(2) as [string, string];
const errors: string[] = [];
for (let i = 0; i < Number(countArg); i++) {
  try {
    const log = AuditLog.open(path.join(base, String(i)));
    log.append({ actor: 'race', tenant: 'lyon', action: 'alert.list', details: {} });
    log.close();
  } catch (e) {
    errors.push(`${i}: ${(e as Error).message}`);
  }
}
process.stdout.write(JSON.stringify({ failed: errors.length, first: errors.slice(0, 3) }));
