/**
 * Muting a chat on this device (C15): "Mute notifications…" in a chat's "More options" menu and in
 * its chat list row's menu opens a small dialog (8 hours, 1 week, Always); a muted chat offers
 * "Unmute" instead. The SDK keeps the mute with the conversation on this device (`mute`,
 * `mutedUntil`); it is never sent anywhere. A muted chat makes no new-message tone and stays out of
 * the tab title's count (chatlist/cues.tsx) but keeps its unread badge; a mute ends by itself.
 */
import { useEffect, useRef, useState, type ReactNode } from 'react';
import { isMuted, type LocalConversation, type ParleyClient } from '@parley/sdk';
import type { MenuAction } from '../OverflowMenu.tsx';
import { Modal } from '../safety/SafetyNumber.tsx';
import { useFocusTrap } from '../calls/focus-trap.ts';
import { describeError } from '../errors.ts';
import './mute.css';

const HOUR = 3_600_000;

/** The lengths the dialog offers: a time from now in ms, or "always" (until unmuted). */
const LENGTHS: { label: string; ms: number | 'always' }[] = [
  { label: '8 hours', ms: 8 * HOUR },
  { label: '1 week', ms: 7 * 24 * HOUR },
  { label: 'Always', ms: 'always' },
];

/** A bell struck through: shown on a muted chat's row. */
export function MutedIcon() {
  return (
    <svg viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false">
      <path
        fill="currentColor"
        d="M12 22a2 2 0 0 0 2-2h-4a2 2 0 0 0 2 2zm6-6v-5c0-3.1-1.6-5.6-4.5-6.3V4a1.5 1.5 0 0 0-3 0v.7c-.6.1-1.1.4-1.6.6L18 14.4V16zM3.3 2.3 2 3.6l4.2 4.2C6.1 8.5 6 9.2 6 10v6l-2 2v1h14.2l2.2 2.2 1.3-1.3L3.3 2.3z"
      />
    </svg>
  );
}

/** The muted mark for a chat list row (an image named "Muted"), or nothing when not muted. */
export function MutedMark({ conv }: { conv: LocalConversation }) {
  if (!isMuted(conv)) return null;
  return (
    <span className="muted-mark" role="img" aria-label="Muted" title="Muted">
      <MutedIcon />
    </span>
  );
}

/** The dialog choosing how long to mute the chat `title`. */
function MuteDialog({
  title,
  onChoose,
  onClose,
}: {
  title: string;
  onChoose: (until: number | 'always') => void;
  onClose: () => void;
}) {
  // A modal <dialog> lets Tab leave for the browser's own controls; the trap keeps it inside.
  const body = useRef<HTMLDivElement>(null);
  useFocusTrap(body);
  // Back to the menu button that opened it (it had the focus while the dialog first rendered).
  const opener = useRef(document.activeElement as HTMLElement | null);
  useEffect(() => () => void (opener.current?.isConnected && opener.current.focus()), []);
  return (
    <Modal labelledBy="mute-title" onClose={onClose} className="mute-dialog">
      <div ref={body}>
        <div className="modal-head">
          <h2 id="mute-title">Mute notifications</h2>
        </div>
        <p id="mute-explained" className="hint">
          No sound for new messages from {title}, and they stay out of the count in the tab title. Unread messages still
          show in the chat list. Kept on this device only.
        </p>
        <div className="mute-lengths" role="group" aria-label="Mute for" aria-describedby="mute-explained">
          {LENGTHS.map((l, i) => (
            <button
              key={l.label}
              type="button"
              autoFocus={i === 0}
              onClick={() => onChoose(l.ms === 'always' ? 'always' : Date.now() + l.ms)}
            >
              {l.label}
            </button>
          ))}
        </div>
        <div className="mute-actions">
          <button type="button" className="secondary" onClick={onClose}>
            Cancel
          </button>
        </div>
      </div>
    </Modal>
  );
}

/**
 * The mute items for chat menus and the dialog they open: `actions(conv, title)` gives "Mute
 * notifications…" (or "Unmute" for a muted chat); render `dialog` once, where the menus are.
 */
export function useMuteMenu(
  client: ParleyClient,
  onError: (message: string) => void,
): { actions: (conv: LocalConversation, title: string) => MenuAction[]; dialog: ReactNode } {
  const [asking, setAsking] = useState<{ id: string; title: string } | null>(null);
  const run = (task: Promise<void>) => void task.catch((e: unknown) => onError(describeError(e)));
  const actions = (conv: LocalConversation, title: string): MenuAction[] => [
    isMuted(conv)
      ? { label: 'Unmute', onSelect: () => run(client.mute(conv.id, null)) }
      : { label: 'Mute notifications…', onSelect: () => setAsking({ id: conv.id, title }) },
  ];
  const dialog = asking && (
    <MuteDialog
      title={asking.title}
      onClose={() => setAsking(null)}
      onChoose={(until) => {
        setAsking(null);
        run(client.mute(asking.id, until));
      }}
    />
  );
  return { actions, dialog };
}
