/**
 * The emoji picker (C15): a panel with a search box, category buttons (with "Recent" first once
 * something was picked) and a grid of emoji buttons. Keyboard: the arrows move in the grid (Up and
 * Down by a row; ArrowDown from the search box enters it), Home and End go to its ends, Enter or
 * Space picks, Escape closes and gives the focus back to whatever opened the panel. Loaded with
 * `import()` (see `LazyEmojiPicker`), data and all, so the entry bundle does not carry it.
 */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import { matchRanges } from '@parley/sdk';
import { CATEGORIES } from './data.ts';
import { recentEmoji, rememberEmoji } from './recent.ts';
import './emoji.css';

/** Emoji per grid row (the CSS grid has as many columns). */
const COLUMNS = 8;

/** What the panel is told. */
export interface PickerProps {
  /** The panel's accessible name ("Emoji", "More reactions"). */
  label: string;
  onPick: (emoji: string) => void;
  onClose: () => void;
  /** Close after one pick (a reaction) rather than stay open for more (the composer). */
  closeOnPick?: boolean;
  /** Extra class: `reactions` centres the panel in the viewport. */
  className?: string;
}

/** The panel. `label` names it ("Emoji", "More reactions"); `onPick` gets each chosen emoji. */
export default function EmojiPicker({ label, onPick, onClose, closeOnPick = false, className = '' }: PickerProps) {
  const [query, setQuery] = useState('');
  const [recent, setRecent] = useState(recentEmoji);
  const [tab, setTab] = useState(() => (recentEmoji().length ? 'recent' : CATEGORIES[0]!.id));
  const [active, setActive] = useState(0);
  const grid = useRef<HTMLDivElement>(null);
  const panel = useRef<HTMLDivElement>(null);
  const search = useRef<HTMLInputElement>(null);
  // Whoever opened the panel gets the focus back when it closes.
  const opener = useRef<HTMLElement | null>(null);

  useEffect(() => {
    opener.current = document.activeElement as HTMLElement | null;
    search.current?.focus();
  }, []);

  const tabs = useMemo(
    () => [
      ...(recent.length
        ? [
            {
              id: 'recent',
              name: 'Recent',
              icon: '🕘',
              emojis: recent.map((emoji) => ({ emoji, name: nameOf(emoji) })),
            },
          ]
        : []),
      ...CATEGORIES,
    ],
    [recent],
  );
  const shown = useMemo(() => {
    if (query.trim()) {
      const seen = new Set<string>();
      return CATEGORIES.flatMap((c) => c.emojis).filter(
        (e) => matchRanges(e.name, query).length > 0 && !seen.has(e.emoji) && seen.add(e.emoji),
      );
    }
    return (tabs.find((t) => t.id === tab) ?? tabs[0]!).emojis;
  }, [query, tab, tabs]);
  const heading = query.trim() ? 'Search results' : (tabs.find((t) => t.id === tab)?.name ?? '');

  useEffect(() => setActive(0), [query, tab]);
  // A press outside (other than on the button that opened it, which toggles it) closes the panel.
  useEffect(() => {
    const outside = (e: PointerEvent) => {
      const t = e.target as Node;
      if (!panel.current?.contains(t) && !opener.current?.contains(t)) onClose();
    };
    document.addEventListener('pointerdown', outside);
    return () => document.removeEventListener('pointerdown', outside);
  }, [onClose]);

  const close = () => {
    onClose();
    opener.current?.focus();
  };
  const pick = (emoji: string) => {
    setRecent(rememberEmoji(emoji));
    onPick(emoji);
    if (closeOnPick) close();
  };
  const focusAt = (i: number) => {
    const next = Math.max(0, Math.min(i, shown.length - 1));
    setActive(next);
    grid.current?.querySelectorAll<HTMLElement>('button')[next]?.focus();
  };

  const onGridKey = (e: KeyboardEvent) => {
    const moves: Record<string, number> = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS };
    if (e.key in moves) {
      e.preventDefault();
      if (e.key === 'ArrowUp' && active < COLUMNS) search.current?.focus();
      else focusAt(active + moves[e.key]!);
    } else if (e.key === 'Home') {
      e.preventDefault();
      focusAt(0);
    } else if (e.key === 'End') {
      e.preventDefault();
      focusAt(shown.length - 1);
    }
  };

  return (
    <div
      ref={panel}
      className={`emoji-picker ${className}`}
      role="dialog"
      aria-label={label}
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.preventDefault();
          e.stopPropagation();
          close();
        }
      }}
    >
      <input
        ref={search}
        type="search"
        className="emoji-search"
        aria-label="Search emoji"
        placeholder="Search emoji"
        autoComplete="off"
        maxLength={40}
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown' && shown.length) {
            e.preventDefault();
            focusAt(0);
          } else if (e.key === 'Enter') {
            e.preventDefault();
            if (shown[0]) pick(shown[0].emoji);
          }
        }}
      />
      {!query.trim() && (
        <div className="emoji-tabs" role="group" aria-label="Emoji categories">
          {tabs.map((t) => (
            <button
              key={t.id}
              type="button"
              aria-pressed={t.id === tab}
              aria-label={t.name}
              title={t.name}
              onClick={() => setTab(t.id)}
            >
              <span aria-hidden="true">{t.icon}</span>
            </button>
          ))}
        </div>
      )}
      <div className="emoji-grid" role="group" aria-label={heading} ref={grid} onKeyDown={onGridKey}>
        {shown.map((e, i) => (
          <button
            key={e.emoji}
            type="button"
            tabIndex={i === active ? 0 : -1}
            // The emoji itself is the name: screen readers say it in the reader's language.
            title={e.name}
            onFocus={() => setActive(i)}
            onClick={() => pick(e.emoji)}
          >
            {e.emoji}
          </button>
        ))}
        {shown.length === 0 && <p className="emoji-none">No emoji match “{query.trim()}”.</p>}
      </div>
    </div>
  );
}

/** An emoji's full line of words, from the data (a recent one may no longer be listed). */
function nameOf(emoji: string): string {
  for (const c of CATEGORIES) {
    const found = c.emojis.find((e) => e.emoji === emoji);
    if (found) return found.name;
  }
  return emoji;
}
