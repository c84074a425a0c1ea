import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { dataPaths, type Config } from '../../config/index.ts';
import { DwError } from '../../errors/index.ts';
// The modules themselves, not security/index.ts: it also exports the audit archive, whose DuckDB the CLI loads only
// for the commands that use it (heavy modules are imported in the actions that need them).
import { AuditLog, type AuditInput } from '../../security/audit.ts';
import type { CredentialStore } from '../../security/credentials.ts';
import { generatePassword } from '../../security/passwords.ts';
import { isRole, ROLES } from '../../security/roles.ts';
import { formatOption, printRows, type OutputFormat } from '../format.ts';
import { configFrom } from './common.ts';
import { withBackend } from './backend.ts';

/**
 * `tenants`, `users` and `drones`: administration straight on `<dataDir>/security.db`. The CLI acts with the rights
 * of whoever may write the data directory (file permissions are the boundary, as for the databases themselves), and
 * every change it makes is in the audit log under `cli:<OS user>`. Secrets (generated passwords, API tokens, drone
 * credentials) are printed once, alone on stdout so a script can capture them; the explanation goes to stderr.
 */

/** Who the audit log names for a CLI change: the OS account that ran it. */
export function cliActor(): string {
  let name: string | undefined;
  try {
    name = os.userInfo().username;
  } catch {
    // No passwd entry for the uid (some containers): the environment's word, else the uid.
  }
  return `cli:${name || process.env.USER || process.env.LOGNAME || `uid-${process.getuid?.() ?? 'unknown'}`}`;
}

/**
 * Runs `fn` with the credential store (`security.store`: security.db in `security.dir`, or JetStream KV on a nats://
 * stream) and this host's audit log (`security.dir`, default the data directory), closing both afterwards.
 */
/** Where the servers keep security.db and audit.db (`security.dir`, default the data directory): the CLI must use the same files. */
export function securityDir(config: Config): string {
  return path.resolve(config.security.dir ?? dataPaths(config).dataDir);
}

export async function withSecurity<T>(cmd: Command, fn: (store: CredentialStore, audit: AuditLog, dir: string) => Promise<T> | T): Promise<T> {
  const config = configFrom(cmd);
  const dir = securityDir(config);
  return withBackend(config, async (backend) => {
    const store = await backend.credentials();
    const audit = AuditLog.open(dir);
    try {
      return await fn(store, audit, dir);
    } finally {
      audit.close();
    }
  });
}

/** Runs `fn` with this host's audit log only (`security.dir`): the audit commands need no credential store. */
export async function withAuditLog<T>(cmd: Command, fn: (audit: AuditLog, dir: string) => Promise<T> | T): Promise<T> {
  const config = configFrom(cmd);
  const dir = securityDir(config);
  const audit = AuditLog.open(dir);
  try {
    return await fn(audit, dir);
  } finally {
    audit.close();
  }
}

function record(audit: AuditLog, entry: Omit<AuditInput, 'actor'>): void {
  audit.append({ actor: cliActor(), ...entry });
}

function invalid(message: string): DwError {
  return new DwError('DW_CONFIG_INVALID', message, { status: 400 });
}

const collectRole = (value: string, previous: string[] | undefined): string[] => {
  if (!isRole(value)) throw invalid(`--role ${value}: not a role; use ${ROLES.join(', ')} (repeat --role for several)`);
  return [...(previous ?? []), value];
};

interface PasswordFlags {
  passwordFile?: string;
  passwordStdin?: boolean;
}

function passwordOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--password-file <file>', 'read the password from this file (its first line)').conflicts('passwordStdin'))
    .addOption(new Option('--password-stdin', 'read the password from standard input (its first line)'));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The password the flags give, or a generated one (then `generated`: the caller prints it once). */
async function passwordFrom(o: PasswordFlags): Promise<{ password: string; generated: boolean }> {
  let text: string;
  if (o.passwordFile !== undefined) {
    try {
      text = readFileSync(o.passwordFile, 'utf8');
    } catch (e) {
      throw invalid(`--password-file ${o.passwordFile}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
  } else if (o.passwordStdin) {
    text = await readStdin();
  } else {
    return { password: generatePassword(), generated: true };
  }
  // The first line: `echo secret > file` and here-strings add a line break that is not part of the password.
  const password = text.split(/\r?\n/)[0] ?? '';
  if (password === '') throw invalid(`${o.passwordFile !== undefined ? `--password-file ${o.passwordFile}` : '--password-stdin'}: empty password`);
  return { password, generated: false };
}

function printGenerated(password: string, what: string): void {
  process.stdout.write(`${password}\n`);
  process.stderr.write(`${what}; generated password printed once above (stdout): it is stored only as a hash, hand it over now\n`);
}

function droneOf(droneId: string | undefined, gateway: boolean | undefined): string {
  if (gateway && droneId !== undefined) throw invalid('give a drone id or --gateway, not both');
  if (gateway) return '*';
  if (droneId === undefined) throw invalid('give a drone id, or --gateway for a credential that publishes for every drone of the tenant');
  return droneId;
}

export function registerSecurity(program: Command): void {
  const tenants = program.command('tenants').description('police forces: every user, drone, report and alert belongs to one (docs/security.md)');
  tenants.command('create <id>').description('create a tenant (id: lower-case letters, digits, - and _)')
    .addOption(new Option('--name <display name>', 'display name (default: the id)'))
    .action(async (id: string, o: { name?: string }, cmd: Command) => {
      await withSecurity(cmd, async (store, audit) => {
        const t = await store.createTenant(id, o.name ?? id);
        record(audit, { tenant: t.id, action: 'tenant.create', target: t.id, details: { name: t.name } });
        process.stdout.write(`created tenant ${t.id} (${t.name})\n`);
      });
    });
  tenants.command('list').description('list tenants').addOption(formatOption()).action(async (o: { format: OutputFormat }, cmd: Command) => {
    await withSecurity(cmd, (store) => printRows(store.listTenants().map((t) => ({ id: t.id, name: t.name, created_at: t.createdAt })), o.format));
  });

  const users = program.command('users').description('officers\' accounts: roles, passwords, API tokens (docs/security.md)');
  passwordOptions(users.command('create <username>').description(`create an account; without --password-file/--password-stdin a strong password is generated and printed once`))
    .requiredOption('--tenant <tenant>', 'the police force it belongs to')
    .addOption(new Option('--role <role>', `${ROLES.join(', ')}; repeat for several`).argParser(collectRole).makeOptionMandatory())
    .action(async (username: string, o: PasswordFlags & { tenant: string; role: string[] }, cmd: Command) => {
      const { password, generated } = await passwordFrom(o);
      await withSecurity(cmd, async (store, audit) => {
        const u = await store.createUser({ tenant: o.tenant, username, roles: o.role, password });
        record(audit, { tenant: u.tenant, action: 'user.create', target: u.username, details: { roles: u.roles, password: generated ? 'generated' : 'given' } });
        const what = `created user ${u.username} (tenant ${u.tenant}, roles ${u.roles.join(', ')})`;
        if (generated) printGenerated(password, what);
        else process.stdout.write(`${what}\n`);
      });
    });
  users.command('list').description('list accounts').addOption(new Option('--tenant <tenant>', 'only this tenant\'s')).addOption(formatOption())
    .action(async (o: { tenant?: string; format: OutputFormat }, cmd: Command) => {
      await withSecurity(cmd, (store) => printRows(store.listUsers(o.tenant).map((u) => ({
        username: u.username, tenant: u.tenant, roles: u.roles.join(','), disabled: u.disabled, created_at: u.createdAt,
      })), o.format));
    });
  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    users.command(`${name} <username>`).description(disabled ? 'disable an account: its sessions end and its API tokens stop working at once' : 'enable a disabled account')
      .action(async (username: string, _o: object, cmd: Command) => {
        await withSecurity(cmd, async (store, audit) => {
          const u = await store.setDisabled(username, disabled);
          record(audit, { tenant: u.tenant, action: disabled ? 'user.disable' : 'user.enable', target: u.username });
          process.stdout.write(`${disabled ? 'disabled' : 'enabled'} user ${u.username}\n`);
        });
      });
  }
  passwordOptions(users.command('passwd <username>').description('set a password (generated and printed once without --password-file/--password-stdin); ends the user\'s sessions'))
    .action(async (username: string, o: PasswordFlags, cmd: Command) => {
      const { password, generated } = await passwordFrom(o);
      await withSecurity(cmd, async (store, audit) => {
        const u = store.getUser(username);
        await store.setPassword(username, password);
        record(audit, { tenant: u.tenant, action: 'user.password', target: u.username, details: { password: generated ? 'generated' : 'given' } });
        if (generated) printGenerated(password, `new password for ${u.username}`);
        else process.stdout.write(`password of ${u.username} changed\n`);
      });
    });

  const tokens = users.command('token').description('API tokens: bearer credentials for scripts, acting as their user');
  tokens.command('create <username>').description('create an API token (printed once)').requiredOption('--name <name>', 'what it is for')
    .action(async (username: string, o: { name: string }, cmd: Command) => {
      await withSecurity(cmd, async (store, audit) => {
        const u = store.getUser(username);
        const t = await store.createApiToken(username, o.name);
        record(audit, { tenant: u.tenant, action: 'token.create', target: u.username, details: { tokenId: t.id, name: o.name } });
        process.stdout.write(`${t.token}\n`);
        process.stderr.write(`API token ${t.id} ("${o.name}") for ${u.username}, printed once above: only its hash is kept; revoke with \`dronewatch users token revoke ${t.id}\`\n`);
      });
    });
  tokens.command('list <username>').description('list a user\'s API tokens (never the tokens themselves)').addOption(formatOption())
    .action(async (username: string, o: { format: OutputFormat }, cmd: Command) => {
      await withSecurity(cmd, (store) => printRows(store.listApiTokens(username).map((t) => ({ id: t.id, name: t.name, created_at: t.createdAt, revoked_at: t.revokedAt })), o.format));
    });
  tokens.command('revoke <id>').description('revoke an API token by id (effective on the next request)')
    .action(async (id: string, _o: object, cmd: Command) => {
      await withSecurity(cmd, async (store, audit) => {
        const t = store.findApiToken(id);
        await store.revokeApiToken(id);
        record(audit, { tenant: t!.tenant, action: 'token.revoke', target: t!.username, details: { tokenId: id, name: t!.name } });
        process.stdout.write(`revoked API token ${id} of ${t!.username}\n`);
      });
    });

  program.command('security').description('the credential store itself (docs/security.md, "Distributed mode")')
    .command('migrate-to-kv').description('copy the accounts (password hashes), API tokens and drone credentials of security.db (security.dir) into JetStream KV, for security.store kv; keys already there are kept, sessions are not copied (officers log in again)')
    .action(async (_o: object, cmd: Command) => {
      const config = configFrom(cmd);
      if (!/^(nats|kafka):\/\//.test(config.stream.url)) throw invalid('migrate-to-kv copies into the deployment\'s shared store: give --stream nats://host:port or kafka://host:port (or DRONEWATCH_STREAM)');
      const { KvCredentialStore, SecurityStore, openBackend } = await import('../../backend/index.ts');
      const dir = securityDir(config);
      if (!existsSync(path.join(dir, 'security.db'))) throw invalid(`no security.db in ${dir}: give the data directory that holds it (--data, or security.dir)`);
      const local = SecurityStore.open(dir);
      const dump = local.dump();
      local.close();
      // The KV store as the servers open it, without the check that refuses an unmigrated one: this is the migration.
      const backend = await openBackend({ ...config, security: { ...config.security, store: 'kv' } });
      const kv = await backend.credentials({ unmigrated: 'allow' });
      if (!(kv instanceof KvCredentialStore)) {
        await backend.close();
        throw invalid('migrate-to-kv: the credential store opened is not a shared one');
      }
      const audit = AuditLog.open(dir);
      try {
        const r = await kv.load(dump);
        const counts = { tenants: dump.tenants.length, users: dump.users.length, apiTokens: dump.apiTokens.length, drones: dump.drones.length, copied: r.copied, alreadyThere: r.existing };
        record(audit, { tenant: '*', action: 'security.migrate', target: path.join(dir, 'security.db'), details: counts });
        process.stdout.write(`copied ${r.copied} credentials to ${kv.kind === 'nats' ? 'JetStream KV' : 'Kafka'} (${r.existing} were there already): ${counts.tenants} tenants, `
          + `${counts.users} accounts, ${counts.apiTokens} API tokens, ${counts.drones} drone credentials from ${path.join(dir, 'security.db')}\n`);
      } finally {
        audit.close();
        await backend.close();
      }
    });

  const drones = program.command('drones').description('drone credentials: HTTP ingestion requires one (docs/security.md)');
  drones.command('register [droneId]').description('issue a drone\'s credential, printed once (again: rotates it, the old one stops working)')
    .requiredOption('--tenant <tenant>', 'the police force the drone flies for')
    .addOption(new Option('--gateway', 'a gateway credential (`*`): publishes for every drone of the tenant (simulator, radio relay)'))
    .action(async (droneId: string | undefined, o: { tenant: string; gateway?: boolean }, cmd: Command) => {
      const id = droneOf(droneId, o.gateway);
      await withSecurity(cmd, async (store, audit) => {
        const { token } = await store.registerDrone(o.tenant, id);
        record(audit, { tenant: o.tenant, action: 'drone.register', target: id, details: { gateway: id === '*' } });
        process.stdout.write(`${token}\n`);
        process.stderr.write(`${id === '*' ? 'gateway' : `drone ${id}`} of tenant ${o.tenant}: credential printed once above; only its hash is kept\n`);
      });
    });
  drones.command('revoke [droneId]').description('revoke a drone\'s credential (effective on the next report)')
    .requiredOption('--tenant <tenant>', 'the drone\'s tenant')
    .addOption(new Option('--gateway', 'the tenant\'s gateway credential (`*`)'))
    .action(async (droneId: string | undefined, o: { tenant: string; gateway?: boolean }, cmd: Command) => {
      const id = droneOf(droneId, o.gateway);
      await withSecurity(cmd, async (store, audit) => {
        await store.revokeDrone(o.tenant, id);
        record(audit, { tenant: o.tenant, action: 'drone.revoke', target: id });
        process.stdout.write(`revoked the credential of ${id === '*' ? 'the gateway' : `drone ${id}`} of tenant ${o.tenant}\n`);
      });
    });
  drones.command('list').description('list a tenant\'s drone credentials').requiredOption('--tenant <tenant>', 'the tenant').addOption(formatOption())
    .action(async (o: { tenant: string; format: OutputFormat }, cmd: Command) => {
      await withSecurity(cmd, (store) => {
        if (!store.getTenant(o.tenant)) throw new DwError('DW_NOT_FOUND', `tenant "${o.tenant}" not found (\`dronewatch tenants list\`)`, { status: 404 });
        printRows(store.listDrones(o.tenant).map((d) => ({ drone_id: d.droneId, created_at: d.createdAt, revoked_at: d.revokedAt, status: d.revokedAt ? 'revoked' : 'active' })), o.format);
      });
    });
}
