import { describeError } from '@/api/http';

interface ErrorMessageProps {
  error: unknown;
  title?: string;
  onRetry?: () => void;
}

/** Shows the server's `why` (or a plain sentence) where the failure happened. */
export function ErrorMessage({ error, title = 'Something went wrong', onRetry }: ErrorMessageProps) {
  return (
    <div className="callout callout--danger" role="alert">
      <p className="callout__title">{title}</p>
      <p>{describeError(error)}</p>
      {onRetry ? (
        <button type="button" className="button button--secondary" onClick={onRetry}>
          Try again
        </button>
      ) : null}
    </div>
  );
}
