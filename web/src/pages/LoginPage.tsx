import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../lib/api.ts';
import { authModel } from '../state/auth.ts';

const RATE_LIMITED = 'rate-limited';

/**
 * The login form. It replaces the page the officer asked for without changing the address, so after the login the
 * same page shows (a bookmark, or the page open when the session ended).
 */
export function LoginPage() {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  /** When the server lets this browser try again after too many failures (epoch ms). */
  const [waitUntil, setWaitUntil] = useState(0);
  const [, tick] = useState(0);
  const userRef = useRef<HTMLInputElement>(null);
  const passwordRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    document.title = 'Log in · dronewatch';
    userRef.current?.focus();
  }, []);
  // A countdown while rate limited: the button comes back by itself when the wait is over.
  const waiting = Math.max(0, Math.ceil((waitUntil - Date.now()) / 1000));
  useEffect(() => {
    if (waiting <= 0) return;
    const t = setTimeout(() => tick((n) => n + 1), 1000);
    return () => clearTimeout(t);
  });

  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    if (busy || waiting > 0) return;
    if (!username.trim() || !password) {
      setError(!username.trim() ? 'Enter your user name.' : 'Enter your password.');
      (!username.trim() ? userRef : passwordRef).current?.focus();
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await authModel.login(username.trim(), password);
    } catch (err) {
      setPassword('');
      if (err instanceof ApiError && err.status === 429) {
        const s = err.retryAfterSeconds ?? 60;
        setWaitUntil(Date.now() + s * 1000);
        setError(RATE_LIMITED);
      } else if (err instanceof ApiError && err.status === 401) {
        setError('Wrong user name or password.');
      } else if (err instanceof ApiError) {
        setError(`The server refused the login: ${err.message} (${err.code}).`);
      } else {
        setError('The server cannot be reached. Check the network and try again.');
      }
      passwordRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  const notice = authModel.reason === 'expired' ? 'Your session has ended. Log in again to continue where you were.'
    : authModel.reason === 'logged-out' ? 'You are logged out.' : null;
  return (
    <main id="content" class="login-page" tabIndex={-1}>
      <form class="panel login" onSubmit={(e) => void submit(e)} aria-labelledby="login-title" noValidate>
        <p class="brand login-brand" aria-hidden="true">drone<b>watch</b></p>
        <h1 id="login-title">Log in</h1>
        {notice && <p class="hint" role="status">{notice}</p>}
        <label class="block">
          User name
          <input ref={userRef} name="username" type="text" value={username} autoComplete="username" autoCapitalize="none"
            spellcheck={false} maxLength={64} required aria-invalid={error !== null && !username.trim()}
            onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label class="block">
          Password
          <input ref={passwordRef} name="password" type="password" value={password} autoComplete="current-password"
            maxLength={1024} required aria-invalid={error !== null && username.trim() !== ''} aria-describedby={error ? 'login-error' : undefined}
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        <p id="login-error" class="error login-error" role="alert">
          {error === RATE_LIMITED ? (waiting > 0 ? `Too many failed attempts. Wait ${waiting} s before trying again.` : 'You can try again now.') : error}
        </p>
        <button type="submit" class="primary" disabled={busy || waiting > 0}>{busy ? 'Logging in…' : 'Log in'}</button>
      </form>
    </main>
  );
}
