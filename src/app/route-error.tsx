import { useEffect, useRef, useState } from 'react';
import { isRouteErrorResponse, Link, useRouteError } from 'react-router-dom';
import { describeError, http } from '@/api/http';
import { useServerUnreachableSince } from '@/api/reachability';

/** How the page reloads itself (a seam: jsdom cannot reload). */
export const pageReload = { reload: () => window.location.reload() };

/** Each route's error boundary: a failure in one page leaves the shell usable. */
export function RouteError() {
  return <PageError error={useRouteError()} />;
}

/** What a page that failed shows: a 404, a page whose code did not arrive (an outage or a new deployment), or why. */
export function PageError({ error }: { error: unknown }) {
  const unreachable = useServerUnreachableSince() !== null;
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  const chunkFailed = error instanceof Error && /dynamically imported module|Loading chunk|Importing a module script failed|Unable to preload CSS/i.test(error.message);
  // A page's code that could not be fetched while the browser is offline or the server down is an outage, not a
  // new deployment.
  const outage = chunkFailed && (unreachable || (typeof navigator !== 'undefined' && navigator.onLine === false));
  // A module that failed to load is not fetched again without a reload; ask the server whether it is there (which
  // also starts the outage notice's countdown when it is not), and reload once it is back.
  const sawOutage = useRef(false);
  // Try again: ask the server now. An answer ends the outage, and the effect below reloads the page.
  const [retry, setRetry] = useState<'idle' | 'trying' | 'failed'>('idle');
  const tryAgain = () => {
    setRetry('trying');
    http.get('/api/health').then(
      () => setRetry('idle'),
      () => setRetry('failed'),
    );
  };
  useEffect(() => {
    if (chunkFailed) void http.get('/api/health').catch(() => undefined);
  }, [chunkFailed]);
  useEffect(() => {
    if (outage) sawOutage.current = true;
    else if (chunkFailed && sawOutage.current) pageReload.reload();
  }, [outage, chunkFailed]);
  if (notFound) {
    // Reloading cannot make an unknown address exist: the main action is a way on.
    return (
      <section className="page route-error" aria-labelledby="route-error-title">
        <h1 id="route-error-title">Page not found</h1>
        <p>The address does not match any page of Jobdeck. It may have been mistyped, or the page has moved.</p>
        <div className="button-row">
          <Link className="button button--primary" to="/jobs">
            Go to your jobs
          </Link>
          <Link className="button button--secondary" to="/applications">
            Go to Applications
          </Link>
        </div>
      </section>
    );
  }
  return (
    <section className="page route-error" aria-labelledby="route-error-title">
      <h1 id="route-error-title">{outage ? 'This page could not be loaded' : 'This page could not be shown'}</h1>
      <p>
        {outage
          ? 'Jobdeck’s server cannot be reached, so this page’s code did not arrive. It loads by itself when the server is back.'
          : chunkFailed
            ? 'A new version of Jobdeck may have been deployed. Reload the page to get it.'
            : describeError(error)}
      </p>
      {outage ? (
        <p role="status" className="route-error__retry">
          {retry === 'trying' ? 'Asking the server…' : retry === 'failed' ? 'Still no answer from the server. It is asked again by itself too.' : ''}
        </p>
      ) : null}
      <div className="button-row">
        {outage ? (
          <button type="button" className="button button--primary" onClick={tryAgain} disabled={retry === 'trying'}>
            Try again
          </button>
        ) : (
          <button type="button" className="button button--primary" onClick={() => pageReload.reload()}>
            Reload
          </button>
        )}
        <Link className="button button--secondary" to="/applications">
          Go to Applications
        </Link>
      </div>
    </section>
  );
}
