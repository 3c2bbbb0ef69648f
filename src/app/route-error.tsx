import { isRouteErrorResponse, Link, useRouteError } from 'react-router-dom';
import { describeError } from '@/api/http';

/** Each route's error boundary: a failure in one page leaves the shell usable. */
export function RouteError() {
  const error = useRouteError();
  const notFound = isRouteErrorResponse(error) && error.status === 404;
  const chunkFailed = error instanceof Error && /dynamically imported module|Loading chunk/i.test(error.message);
  return (
    <section className="page route-error" aria-labelledby="route-error-title">
      <h1 id="route-error-title">{notFound ? 'Page not found' : 'This page could not be shown'}</h1>
      <p>
        {notFound
          ? 'The address does not match any page of Jobdeck.'
          : chunkFailed
            ? 'A new version of Jobdeck may have been deployed. Reload the page to get it.'
            : describeError(error)}
      </p>
      <div className="button-row">
        <button type="button" className="button button--primary" onClick={() => window.location.reload()}>
          Reload
        </button>
        <Link className="button button--secondary" to="/applications">
          Go to Applications
        </Link>
      </div>
    </section>
  );
}
