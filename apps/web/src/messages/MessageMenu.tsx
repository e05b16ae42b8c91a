/**
 * The per-message action menu (C15): a "Message actions" button on each bubble opening a menu of
 * Reply, a row of reactions and "More reactions" (the emoji picker), Edit, Copy, Forward, Delete for me and Delete for everyone. It follows
 * the ARIA menu-button pattern: the button says whether the menu is open, the first item takes
 * focus, arrows, Home and End move, Escape closes and gives focus back to the button, Tab closes.
 * The menu is fixed to the viewport and kept inside it, so it never widens a phone screen.
 */
import { useEffect, useLayoutEffect, useRef, useState, type KeyboardEvent } from 'react';
import { MESSAGE_ACTION_LIMITS, type LocalMessage } from '@parley/sdk';

/** The reactions offered in the menu (any single emoji is accepted from other clients). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'] as const;

/** What the menu can ask the chat to do with its message. */
export interface MessageMenuActions {
  reply(m: LocalMessage): void;
  react(m: LocalMessage, emoji: string | null): void;
  /** Open the emoji picker to react with any emoji. */
  moreReactions(m: LocalMessage): void;
  edit(m: LocalMessage): void;
  copy(m: LocalMessage): void;
  forward(m: LocalMessage): void;
  deleteForMe(m: LocalMessage): void;
  deleteForEveryone(m: LocalMessage): void;
  /** Report the sender of someone else's message (`blocking/ReportDialog.tsx`). */
  report?(m: LocalMessage): void;
}

/** Whether the sender may still edit / delete for everyone now (receivers check server times again). */
export function withinWindow(m: LocalMessage, windowMs: number, now = Date.now()): boolean {
  return m.serverTime !== undefined && now - m.serverTime <= windowMs;
}

interface Item {
  key: string;
  label: string;
  /** Shown instead of the label (the emoji); the label stays the accessible name. */
  glyph?: string;
  danger?: boolean;
  run: () => void;
}

/** The items for one message, in menu order. */
function itemsFor(m: LocalMessage, me: string, actions: MessageMenuActions): { reactions: Item[]; rest: Item[] } {
  const deleted = m.deletedAt !== undefined;
  const stored = m.serverTime !== undefined && !deleted;
  const mine = m.from === me;
  // A call entry takes replies and reactions only (the SDK refuses edits, forwards and deletes of it).
  const call = m.callLog !== undefined;
  const myReaction = m.reactions?.find((r) => r.from === me)?.emoji;
  const reactions: Item[] = stored
    ? QUICK_REACTIONS.map((emoji) => ({
        key: `react-${emoji}`,
        label: myReaction === emoji ? `Remove reaction ${emoji}` : `React with ${emoji}`,
        glyph: emoji,
        run: () => actions.react(m, myReaction === emoji ? null : emoji),
      }))
    : [];
  const rest: Item[] = [];
  if (stored) rest.push({ key: 'reply', label: 'Reply', run: () => actions.reply(m) });
  if (stored) rest.push({ key: 'more-reactions', label: 'More reactions', run: () => actions.moreReactions(m) });
  if (stored && myReaction && !QUICK_REACTIONS.includes(myReaction as (typeof QUICK_REACTIONS)[number]))
    rest.push({ key: 'unreact', label: `Remove reaction ${myReaction}`, run: () => actions.react(m, null) });
  if (stored && mine && !call && withinWindow(m, MESSAGE_ACTION_LIMITS.editWindowMs))
    rest.push({ key: 'edit', label: 'Edit', run: () => actions.edit(m) });
  if (!deleted && m.text) rest.push({ key: 'copy', label: 'Copy', run: () => actions.copy(m) });
  if (stored && !call) rest.push({ key: 'forward', label: 'Forward', run: () => actions.forward(m) });
  if (!mine && !call && actions.report) {
    const report = actions.report;
    rest.push({ key: 'report', label: 'Report', danger: true, run: () => report(m) });
  }
  rest.push({ key: 'delete-me', label: 'Delete for me', danger: true, run: () => actions.deleteForMe(m) });
  if (stored && mine && !call && withinWindow(m, MESSAGE_ACTION_LIMITS.deleteWindowMs))
    rest.push({
      key: 'delete-all',
      label: 'Delete for everyone',
      danger: true,
      run: () => actions.deleteForEveryone(m),
    });
  return { reactions, rest };
}

/** The "Message actions" button of one bubble and its menu. */
export function MessageMenu({
  message,
  me,
  actions,
}: {
  message: LocalMessage;
  me: string;
  actions: MessageMenuActions;
}) {
  const [open, setOpen] = useState(false);
  const [pos, setPos] = useState<{ left: number; top: number } | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  const id = `menu-${message.id}`;
  const { reactions, rest } = itemsFor(message, me, actions);
  const all = [...reactions, ...rest];

  const close = (refocus: boolean) => {
    setOpen(false);
    setPos(null);
    if (refocus) button.current?.focus();
  };

  // Place the menu under the button (above it near the bottom), inside the viewport.
  useLayoutEffect(() => {
    if (!open || !button.current || !menu.current) return;
    const b = button.current.getBoundingClientRect();
    const m = menu.current.getBoundingClientRect();
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    const left = Math.max(8, Math.min(b.right - m.width, vw - m.width - 8));
    const below = b.bottom + 4;
    const top = below + m.height <= vh - 8 ? below : Math.max(8, b.top - m.height - 4);
    setPos({ left, top });
  }, [open]);

  // Once placed (and so visible: a hidden element cannot take focus), the first item takes focus.
  const placed = pos !== null;
  useEffect(() => {
    if (placed) menu.current?.querySelector<HTMLElement>('[role="menuitem"]')?.focus();
  }, [placed]);

  // A press outside closes it; the page keeps the focus where the press put it.
  useEffect(() => {
    if (!open) return undefined;
    const onDown = (e: PointerEvent) => {
      if (!menu.current?.contains(e.target as Node) && !button.current?.contains(e.target as Node)) close(false);
    };
    document.addEventListener('pointerdown', onDown);
    return () => document.removeEventListener('pointerdown', onDown);
  }, [open]);

  const onKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const items = [...(menu.current?.querySelectorAll<HTMLElement>('[role="menuitem"]') ?? [])];
    const at = items.indexOf(document.activeElement as HTMLElement);
    const move = (i: number) => {
      e.preventDefault();
      items[(i + items.length) % items.length]?.focus();
    };
    if (e.key === 'ArrowDown' || e.key === 'ArrowRight') move(at + 1);
    else if (e.key === 'ArrowUp' || e.key === 'ArrowLeft') move(at - 1);
    else if (e.key === 'Home') move(0);
    else if (e.key === 'End') move(items.length - 1);
    else if (e.key === 'Escape') {
      e.preventDefault();
      close(true);
    } else if (e.key === 'Tab') close(false);
  };

  const choose = (item: Item) => {
    close(true);
    item.run();
  };

  return (
    <>
      <button
        ref={button}
        type="button"
        className="msg-actions-button"
        aria-label="Message actions"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? id : undefined}
        onClick={() => (open ? close(true) : setOpen(true))}
      >
        <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
          <path d="M7 10l5 5 5-5z" fill="currentColor" />
        </svg>
      </button>
      {open && all.length > 0 && (
        <div
          ref={menu}
          id={id}
          role="menu"
          aria-label="Message actions"
          className="msg-menu"
          style={pos ? { left: pos.left, top: pos.top } : { visibility: 'hidden', left: 0, top: 0 }}
          onKeyDown={onKey}
        >
          {reactions.length > 0 && (
            <div className="msg-menu-reactions" role="group" aria-label="React">
              {reactions.map((item) => (
                <button
                  key={item.key}
                  type="button"
                  role="menuitem"
                  tabIndex={-1}
                  aria-label={item.label}
                  title={item.label}
                  className={item.label.startsWith('Remove') ? 'chosen' : ''}
                  onClick={() => choose(item)}
                >
                  {item.glyph}
                </button>
              ))}
            </div>
          )}
          {rest.map((item) => (
            <button
              key={item.key}
              type="button"
              role="menuitem"
              tabIndex={-1}
              className={item.danger ? 'danger' : ''}
              onClick={() => choose(item)}
            >
              {item.label}
            </button>
          ))}
        </div>
      )}
    </>
  );
}
