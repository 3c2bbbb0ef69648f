import { Dialog, DialogDescription, DialogDismiss, DialogHeading } from '@ariakit/react';
import type { ReactNode, RefObject } from 'react';

interface ConfirmDialogProps {
  open: boolean;
  onClose: () => void;
  onConfirm: () => void;
  title: string;
  description: ReactNode;
  confirmLabel: string;
  cancelLabel?: string;
  tone?: 'danger' | 'primary';
  busy?: boolean;
  children?: ReactNode;
  /** Where focus goes on close, when the element that opened it is gone or disabled (default: back to it). */
  finalFocus?: RefObject<HTMLElement | null>;
}

/** A modal confirmation; Ariakit traps focus, restores it on close and closes on Escape. */
export function ConfirmDialog({
  open,
  onClose,
  onConfirm,
  title,
  description,
  confirmLabel,
  cancelLabel = 'Cancel',
  tone = 'primary',
  busy = false,
  children,
  finalFocus,
}: ConfirmDialogProps) {
  return (
    <Dialog
      open={open}
      onClose={onClose}
      finalFocus={finalFocus}
      className="dialog"
      backdrop={<div className="dialog-backdrop" />}
    >
      <DialogHeading className="dialog__title">{title}</DialogHeading>
      <DialogDescription className="dialog__description">{description}</DialogDescription>
      {children}
      <div className="dialog__actions">
        {/* The safe choice gets focus first, so a stray Enter does not confirm. */}
        <DialogDismiss className="button button--secondary" autoFocus>
          {cancelLabel}
        </DialogDismiss>
        <button
          type="button"
          className={`button ${tone === 'danger' ? 'button--danger' : 'button--primary'}`}
          onClick={onConfirm}
          disabled={busy}
          aria-busy={busy || undefined}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}
