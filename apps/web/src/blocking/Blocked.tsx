/**
 * What blocking shows in a chat (C15): in a direct chat with a blocked contact, a line in the
 * composer's place with "Unblock"; in a group, each message of a blocked member collapsed to
 * "Message from a blocked contact", which the reader may open; and the same block and report
 * actions as buttons in a contact's info.
 */
import { useState } from 'react';
import type { LocalMessage } from '@parley/sdk';
import type { MenuAction } from '../OverflowMenu.tsx';
import './blocking.css';

/** The composer's place in a direct chat with a contact this account blocked. */
export function BlockedComposer({ name, onUnblock }: { name: string; onUnblock: () => void }) {
  return (
    <div className="composer-wrap blocked-composer">
      <p>
        You blocked {name}. You can't send each other messages or calls until you unblock {name}.
      </p>
      <button type="button" onClick={onUnblock}>
        Unblock {name}
      </button>
    </div>
  );
}

/** A blocked group member's message, collapsed until the reader opens it. */
export function BlockedMessage({
  m,
  sender,
  children,
}: {
  m: LocalMessage;
  sender: string;
  children: React.ReactNode;
}) {
  const [open, setOpen] = useState(false);
  return (
    <li className="bubble in blocked-message">
      <span className="visually-hidden">{sender}: </span>
      <span className="blocked-label">Message from a blocked contact</span>
      <button type="button" className="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide' : 'Show'}
      </button>
      {open && (
        <div className="blocked-body" data-message-id={m.id}>
          {children}
        </div>
      )}
    </li>
  );
}

/** Block (or Unblock) and Report as buttons, for the contact-info dialog. */
export function ContactBlockButtons({ actions }: { actions: MenuAction[] }) {
  return (
    <div className="contact-block-buttons">
      {actions.map((a) => (
        <button key={a.label} type="button" className={a.danger ? 'danger' : 'secondary'} onClick={a.onSelect}>
          {a.label}
        </button>
      ))}
    </div>
  );
}
