/**
 * When the web client takes its watch layout (C15): on a screen no wider than a watch (about
 * 184–205 px across; phones start at 320), or at `/watch` whatever the size, so a companion or a
 * watch browser with a wider viewport can be pointed there. A round screen (CSS `shape: round`,
 * or `?shape=round` kept in localStorage for browsers that do not report it) keeps its content
 * inside the circle.
 */
import { useEffect, useState } from 'react';

/** Widest viewport, in CSS px, that gets the watch layout by itself. */
export const WATCH_MAX_WIDTH = 260;
/** The path that always gives the watch layout. */
export const WATCH_PATH = '/watch';
/** localStorage key of the shape chosen with `?shape=round` or `?shape=rect`. */
export const SHAPE_KEY = 'parley:watch-shape';

const WIDTH_QUERY = `(max-width: ${WATCH_MAX_WIDTH}px)`;

/** Whether the page is at `/watch` (or below it). */
export const atWatchPath = (): boolean =>
  location.pathname === WATCH_PATH || location.pathname.startsWith(`${WATCH_PATH}/`);

/** Whether the watch layout applies now. */
export function watchLayoutWanted(): boolean {
  return atWatchPath() || matchMedia(WIDTH_QUERY).matches;
}

/** The watch layout's on/off as React state, following the viewport as it is resized. */
export function useWatchLayout(): boolean {
  const [on, setOn] = useState(watchLayoutWanted);
  useEffect(() => {
    const query = matchMedia(WIDTH_QUERY);
    const change = () => setOn(watchLayoutWanted());
    query.addEventListener('change', change);
    return () => query.removeEventListener('change', change);
  }, []);
  return on;
}

/**
 * Whether the screen is round: `?shape=round|rect` in the address (kept for the next loads, as a
 * watch browser seldom shows an address bar), else what the browser reports.
 */
export function isRoundScreen(): boolean {
  const asked = new URLSearchParams(location.search).get('shape');
  try {
    if (asked === 'round' || asked === 'rect') localStorage.setItem(SHAPE_KEY, asked);
    const kept = localStorage.getItem(SHAPE_KEY);
    if (kept === 'round' || kept === 'rect') return kept === 'round';
  } catch {
    // Storage may be off; the browser's own report still counts.
  }
  return asked === 'round' || matchMedia('(shape: round)').matches;
}
