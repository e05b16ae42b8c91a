/** Icons of the chat list's placement (C15): inline SVG, no external assets. */

/** A box with a lid: the "Archived" entry. */
export function ArchiveIcon() {
  return (
    <svg viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M3 4h18v4H3V4zm1 5h16v11H4V9zm5 3v2h6v-2H9z" />
    </svg>
  );
}

/** A pin: shown on a pinned chat's row. */
export function PinIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M16 3l5 5-2 1-4 4 1 5-2 2-4-4-5 5-1-1 5-5-4-4 2-2 5 1 4-4 1-2z" />
    </svg>
  );
}
