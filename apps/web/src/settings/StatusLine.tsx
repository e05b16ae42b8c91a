/**
 * The status line of a Settings card (C15): what a save did ("Profile saved."), or why it failed.
 *
 * The polite live region is always in the page, so text put into it is announced, but it holds a
 * paragraph only while there is something to say: an empty `role=status` paragraph per card was
 * listed by screen readers as a row of blank status messages. An error is an alert of its own.
 */
export function StatusLine({
  text,
  error,
  className = 'saved',
}: {
  text: string | null | undefined;
  error?: string | null;
  className?: string;
}) {
  if (error)
    return (
      <p className="error" role="alert">
        {error}
      </p>
    );
  return (
    <div className="status-slot" aria-live="polite">
      {text ? <p className={className}>{text}</p> : null}
    </div>
  );
}
