/** Small shared pieces: error and loading notes, a page title, a confirmation that names its target. */
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { errorText } from '../format.js';

export function ErrorNote({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert">
      {errorText(error)}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p class="muted" aria-live="polite">Loading…</p> : null;
}

export function Title({ children, actions }: { children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <header class="page-title">
      <h1>{children}</h1>
      {actions !== undefined && <div class="actions">{actions}</div>}
    </header>
  );
}

/** A destructive action that asks for the target's name to be typed first. */
export function ConfirmDelete({ what, name, onConfirm }: { what: string; name: string; onConfirm: () => Promise<void> }) {
  const [open, setOpen] = useState(false);
  const [typed, setTyped] = useState('');
  const [error, setError] = useState<unknown>();
  if (!open) {
    return (
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Delete {what}
      </button>
    );
  }
  return (
    <form
      class="confirm"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await onConfirm();
        } catch (err) {
          setError(err);
        }
      }}
    >
      <label>
        Type <code>{name}</code> to delete this {what}
        <input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus />
      </label>
      <button type="submit" class="danger" disabled={typed !== name}>
        Delete
      </button>
      <button type="button" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
