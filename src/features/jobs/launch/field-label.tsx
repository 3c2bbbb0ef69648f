import type { ReactNode } from 'react';

export function FieldLabel({ htmlFor, optional, children }: { htmlFor: string; optional: boolean; children: ReactNode }) {
  return (
    <label htmlFor={htmlFor} className="field__label">
      {children}
      {optional ? (
        <span className="field__optional">(optional)</span>
      ) : (
        <span className="field__required" aria-hidden="true">
          *
        </span>
      )}
    </label>
  );
}

export function FieldMessages({ hintId, hint, errorId, error }: { hintId: string; hint?: ReactNode; errorId: string; error: string | null }) {
  return (
    <>
      {hint ? (
        <p id={hintId} className="field__hint">
          {hint}
        </p>
      ) : null}
      {error ? (
        <p id={errorId} className="field__error">
          {error}
        </p>
      ) : null}
    </>
  );
}

export function describedBy(hintId: string, hasHint: boolean, errorId: string, error: string | null): string | undefined {
  return [error ? errorId : null, hasHint ? hintId : null].filter(Boolean).join(' ') || undefined;
}
