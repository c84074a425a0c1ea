import { ApiError, getJson, request, sendJson, session } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { LoginAnswer, Me, Permission } from '../lib/types.ts';

/** Set just before the page reloads after a logout, so the login page can say it happened. */
const LOGGED_OUT_KEY = 'dronewatch.loggedOut';

/** sessionStorage, which may be missing (storage disabled): the notice is a nicety, never a failure. */
function flag(set?: boolean): boolean {
  try {
    if (set === true) sessionStorage.setItem(LOGGED_OUT_KEY, '1');
    else if (set === false) sessionStorage.removeItem(LOGGED_OUT_KEY);
    return sessionStorage.getItem(LOGGED_OUT_KEY) !== null;
  } catch {
    return false;
  }
}

/**
 * - `checking`: asking /v1/auth/me (page load);
 * - `login`: nobody logged in (or the session ended): the login page;
 * - `user`: logged in, `me` says who and what they may do;
 * - `open`: the server runs without authentication (`security.enabled: false`): everything, a typed-in name.
 */
export type AuthState = 'checking' | 'login' | 'user' | 'open';

/**
 * Who is using the dashboard. The session cookie is HttpOnly, so the page learns who it belongs to from
 * /v1/auth/me (which also hands back the CSRF token a reload lost). The permissions decide which pages show; the
 * server checks them again on every request, so hiding a page is for clarity, not protection.
 */
export class AuthModel extends Observable {
  state: AuthState = 'checking';
  me: Me | null = null;
  /** Why the login page shows: the session ended while the page was open, or the officer logged out. */
  reason: 'expired' | 'logged-out' | null = null;
  /** The first user logged in on this page: the live models run with their permissions. */
  private firstUser: string | null = null;
  private justLoggedIn = false;

  constructor() {
    super();
    session.onUnauthorized = () => {
      // Only a session that was there can end; a 401 while the login page shows changes nothing.
      if (this.state !== 'user') return;
      this.state = 'login';
      this.reason = 'expired';
      session.csrf = null;
      this.changed();
    };
  }

  /** Page load: is there a session? */
  async check(): Promise<void> {
    try {
      this.adopt(await getJson<Me>('/v1/auth/me'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        // No /v1/auth routes at all: the server runs without authentication.
        this.state = 'open';
      } else {
        this.state = 'login';
        if (flag()) this.reason = 'logged-out';
      }
      this.changed();
    }
    flag(false);
  }

  /** POST /v1/auth/login, then /v1/auth/me for the permissions. Throws ApiError (401 wrong credentials, 429 wait). */
  async login(username: string, password: string): Promise<void> {
    const answer = await sendJson<LoginAnswer>('POST', '/v1/auth/login', { username, password });
    session.csrf = answer.csrf;
    const me = await getJson<Me>('/v1/auth/me');
    if (this.firstUser !== null && me.name !== this.firstUser) {
      // Someone else took over a page whose live models run with the previous user's rights (and hold what they
      // saw): start clean. The new session's cookie is set, so the reloaded page opens logged in, on the same page.
      location.reload();
      return;
    }
    this.justLoggedIn = true;
    this.adopt(me);
  }

  /** True once after a login through the form: the dashboard then moves the focus to the page the form gave way to. */
  takeJustLoggedIn(): boolean {
    const was = this.justLoggedIn;
    this.justLoggedIn = false;
    return was;
  }

  /** POST /v1/auth/logout, then a fresh page: nothing the officer saw stays in the page's memory. */
  async logout(): Promise<void> {
    try {
      await request('/v1/auth/logout', { method: 'POST' });
    } catch {
      // Already ended on the server: the reload shows the login page all the same.
    }
    flag(true);
    location.reload();
  }

  /** May the user do this? Always true without authentication. */
  can(permission: Permission): boolean {
    if (this.state === 'open') return true;
    return this.me?.permissions.includes(permission) ?? false;
  }

  private adopt(me: Me): void {
    this.me = me;
    if (me.csrf) session.csrf = me.csrf;
    this.firstUser ??= me.name;
    this.state = 'user';
    this.reason = null;
    this.changed();
  }
}

export const authModel = new AuthModel();
