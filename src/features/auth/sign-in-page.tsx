import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useState, type FormEvent } from 'react';
import { Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { authQueries, openSession } from '@/api/auth';
import { describeError, isApiError } from '@/api/http';
import { signedIn, useSignOutReason, useToken } from '@/api/session';

/** Only same-app paths: `next` comes from the URL, so it must not send the user off-site. */
export function safeNextPath(next: string | null): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/applications';
  if (next.startsWith('/sign-in')) return '/applications';
  return next;
}

export default function SignInPage() {
  const [params] = useSearchParams();
  const next = safeNextPath(params.get('next'));
  const token = useToken();
  const reason = useSignOutReason();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [value, setValue] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const inputId = useId();
  const hintId = useId();
  const errorId = useId();
  useEffect(() => {
    document.title = 'Sign in – Jobdeck';
  }, []);

  if (token && !busy) return <Navigate to={next} replace />;

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const candidate = value.trim();
    if (!candidate) {
      setError('Paste your access token.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      // The pasted access token is exchanged for a session; only the session is kept in this browser.
      const session = await openSession(candidate);
      queryClient.setQueryData(authQueries.whoami().queryKey, {
        username: session.username,
        role: session.role,
        sessionExpiresAt: session.expiresAt,
      });
      signedIn(session.token);
      navigate(next, { replace: true });
    } catch (err) {
      setError(
        isApiError(err) && err.status === 401
          ? 'This token was not accepted. Check that you copied all of it, or ask for a new one.'
          : describeError(err),
      );
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="sign-in" id="main">
      <div className="sign-in__card">
        <div className="brand brand--large" aria-hidden="true">
          <svg width="28" height="28" viewBox="0 0 32 32">
            <rect width="32" height="32" rx="7" fill="currentColor" />
            <path d="M9 10h14v3H9zm0 5h14v3H9zm0 5h9v3H9z" fill="var(--surface)" />
          </svg>
          <span>Jobdeck</span>
        </div>
        <h1>Sign in</h1>
        {reason === 'expired' ? (
          <p className="callout callout--warning" role="status">
            Your session has ended. Sign in again to continue where you were.
          </p>
        ) : null}
        {reason === 'link-rejected' ? (
          <p className="callout callout--warning" role="status">
            The sign-in link you opened was not accepted: its token is unknown here, or it has been revoked. Open the
            newest link the server printed, or paste a token below.
          </p>
        ) : null}
        {reason === 'user' ? (
          <p className="callout callout--info" role="status">
            You have signed out.
          </p>
        ) : null}
        <p className="muted">
          Open the sign-in link that the server printed when it started, or paste an access token below.
        </p>
        <form onSubmit={onSubmit} noValidate className="stack">
          <div className="field">
            <label htmlFor={inputId} className="field__label">
              Access token
            </label>
            <input
              id={inputId}
              className="input"
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={value}
              onChange={(e) => setValue(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby={error ? `${errorId} ${hintId}` : hintId}
            />
            <p id={hintId} className="field__hint">
              An administrator can issue one with <code>npm run cli -- token issue &lt;name&gt;</code>.
            </p>
            {error ? (
              <p id={errorId} className="field__error" role="alert">
                {error}
              </p>
            ) : null}
          </div>
          <button type="submit" className="button button--primary button--block" disabled={busy}>
            {busy ? 'Checking…' : 'Sign in'}
          </button>
        </form>
      </div>
    </main>
  );
}
