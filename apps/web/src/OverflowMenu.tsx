/**
 * The "More options" menu of a chat header (C15): a menu button (`aria-haspopup="menu"`,
 * `aria-expanded`) and a `role="menu"` list of `menuitem`s, following the WAI-ARIA menu-button
 * pattern so it works by keyboard and with screen readers: Enter, Space or ArrowDown open it on
 * the first item, ArrowUp on the last; ArrowUp/ArrowDown/Home/End move; Enter or Space choose;
 * Escape and Tab close it (Escape returns focus to the button); a click outside closes it too.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import { MoreIcon } from './media/icons.tsx';

/** One entry of the menu. */
export interface MenuAction {
  label: string;
  onSelect: () => void;
  /** Drawn in red: leaving, deleting. */
  danger?: boolean;
}

/** A "More options" button and its menu. */
export function OverflowMenu({ actions, label = 'More options' }: { actions: MenuAction[]; label?: string }) {
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const button = useRef<HTMLButtonElement>(null);
  const items = useRef<(HTMLButtonElement | null)[]>([]);
  const root = useRef<HTMLDivElement>(null);
  const menuId = useId();

  useEffect(() => {
    if (open) items.current[active]?.focus();
  }, [open, active]);

  useEffect(() => {
    if (!open) return undefined;
    const outside = (e: PointerEvent) => {
      if (!root.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [open]);

  const openAt = (index: number) => {
    setActive((index + actions.length) % actions.length);
    setOpen(true);
  };
  const close = (refocus: boolean) => {
    setOpen(false);
    if (refocus) button.current?.focus();
  };
  const choose = (a: MenuAction) => {
    close(true);
    a.onSelect();
  };

  const onButtonKey = (e: KeyboardEvent) => {
    // Enter and Space press the button (its click opens the menu); the arrows open it too.
    if (e.key === 'ArrowDown') {
      e.preventDefault();
      openAt(0);
    } else if (e.key === 'ArrowUp') {
      e.preventDefault();
      openAt(actions.length - 1);
    }
  };
  const onMenuKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = {
      ArrowDown: active + 1,
      ArrowUp: active - 1,
      Home: 0,
      End: actions.length - 1,
    };
    if (e.key in moves) {
      e.preventDefault();
      setActive((moves[e.key]! + actions.length) % actions.length);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      close(true);
    } else if (e.key === 'Tab') {
      close(false);
    }
  };

  return (
    <div className="overflow-menu" ref={root}>
      <button
        ref={button}
        type="button"
        className="icon-button"
        aria-label={label}
        title={label}
        aria-haspopup="menu"
        aria-expanded={open}
        aria-controls={open ? menuId : undefined}
        onClick={() => (open ? close(false) : openAt(0))}
        onKeyDown={onButtonKey}
      >
        <MoreIcon />
      </button>
      {open && (
        <div id={menuId} className="menu" role="menu" aria-label={label} onKeyDown={onMenuKey}>
          {actions.map((a, i) => (
            <button
              key={a.label}
              ref={(el) => {
                items.current[i] = el;
              }}
              type="button"
              role="menuitem"
              tabIndex={i === active ? 0 : -1}
              className={a.danger ? 'danger' : undefined}
              onClick={() => choose(a)}
            >
              {a.label}
            </button>
          ))}
        </div>
      )}
    </div>
  );
}
