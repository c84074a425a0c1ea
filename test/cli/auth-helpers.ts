import assert from 'node:assert/strict';

/** A logged-in browser-like session: the session cookie and the CSRF token changes need. */
export interface Session {
  cookie: string;
  csrf: string;
  /** Headers of a request made with this session (`json`: a JSON body follows). */
  headers(json?: boolean): Record<string, string>;
}

/** The first administrator's credentials, as `up`/`serve` print them once on the first start. */
export function firstAdmin(output: string): { username: string; password: string } {
  const m = /user (\S+) {2}password (\S+)/.exec(output);
  assert.ok(m, `the first start prints the administrator's password; output:\n${output}`);
  return { username: m[1]!, password: m[2]! };
}

export async function login(url: string, username: string, password: string): Promise<Session> {
  const res = await fetch(`${url}/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  assert.equal(res.status, 200, `login of ${username}: ${await res.clone().text()}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const { csrf } = (await res.json()) as { csrf: string };
  return {
    cookie,
    csrf,
    headers: (json = false) => ({ cookie, 'x-csrf-token': csrf, ...(json ? { 'content-type': 'application/json' } : {}) }),
  };
}

/** An admin creates an officer account with the given role (through the API, as the dashboard's admin would). */
export async function createUser(url: string, admin: Session, username: string, role: string): Promise<string> {
  const password = `pw-${username}-${Math.random().toString(36).slice(2)}-long`;
  const res = await fetch(`${url}/v1/users`, { method: 'POST', headers: admin.headers(true), body: JSON.stringify({ username, roles: [role], password }) });
  assert.equal(res.status, 201, `create ${username}: ${await res.clone().text()}`);
  return password;
}

/** An admin registers a drone credential (`*`: a gateway for every drone of the tenant); the bearer token. */
export async function registerDrone(url: string, admin: Session, droneId: string): Promise<string> {
  const res = await fetch(`${url}/v1/drones`, { method: 'POST', headers: admin.headers(true), body: JSON.stringify({ droneId }) });
  assert.equal(res.status, 201, `register ${droneId}: ${await res.clone().text()}`);
  return ((await res.json()) as { token: string }).token;
}
