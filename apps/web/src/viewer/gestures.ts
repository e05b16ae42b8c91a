/**
 * Zoom, pan and swipe for the media viewer (C15), from pointer events so that mouse, pen and touch
 * share one path: one pointer pans a zoomed picture or, at normal size, swipes to the neighbour;
 * two pointers pinch; the wheel zooms about the cursor; a double click or double tap toggles
 * between fitting the screen and `DOUBLE_TAP_SCALE`. The stage sets `touch-action: none`, so the
 * browser's own page zoom and scroll never compete with these.
 */
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';

/** Largest zoom; 1 fits the screen. */
export const MAX_SCALE = 5;
/** What a double click or double tap zooms to from the fitted size. */
export const DOUBLE_TAP_SCALE = 2.5;
/** How far (CSS px) a drag at normal size must go sideways to count as a swipe. */
const SWIPE_PX = 60;
/** Two taps closer than this (ms and px) are a double tap. */
const DOUBLE_TAP_MS = 350;
const DOUBLE_TAP_PX = 30;

/** The picture's zoom and its offset from the centre, in CSS px. */
export interface View {
  scale: number;
  x: number;
  y: number;
}

export const FITTED: View = { scale: 1, x: 0, y: 0 };

/** Keep the scale within 1..MAX_SCALE and the offset within what the zoomed picture covers. */
export function clampView(v: View, box: { width: number; height: number }): View {
  const scale = Math.min(MAX_SCALE, Math.max(1, v.scale));
  if (scale === 1) return FITTED;
  const maxX = ((scale - 1) * box.width) / 2;
  const maxY = ((scale - 1) * box.height) / 2;
  return { scale, x: Math.min(maxX, Math.max(-maxX, v.x)), y: Math.min(maxY, Math.max(-maxY, v.y)) };
}

/**
 * Zoom to `scale` keeping the point `at` (relative to the stage's centre) where it is on screen,
 * as a pinch or a wheel zoom about the cursor should.
 */
export function zoomAbout(v: View, scale: number, at: { x: number; y: number }): View {
  const k = scale / v.scale;
  return { scale, x: at.x - (at.x - v.x) * k, y: at.y - (at.y - v.y) * k };
}

interface Pointer {
  x: number;
  y: number;
}

/**
 * Gestures on the stage behind `stage`. `onSwipe(-1)` asks for the previous item, `onSwipe(1)` the
 * next. `reset` changes whenever a different item is shown, which fits it to the screen again.
 */
export function useZoomPan(
  stage: RefObject<HTMLElement | null>,
  onSwipe: (direction: -1 | 1) => void,
  reset: unknown,
): { view: View; setScale: (scale: number) => void; dragging: boolean; dragX: number } {
  const [view, setView] = useState<View>(FITTED);
  const [dragX, setDragX] = useState(0);
  const [dragging, setDragging] = useState(false);
  const viewRef = useRef(view);
  viewRef.current = view;
  const swipe = useRef(onSwipe);
  swipe.current = onSwipe;

  useEffect(() => setView(FITTED), [reset]);

  const box = () => stage.current?.getBoundingClientRect() ?? new DOMRect(0, 0, 1, 1);
  /** A client point relative to the stage's centre. */
  const centred = (p: Pointer) => {
    const b = box();
    return { x: p.x - (b.left + b.width / 2), y: p.y - (b.top + b.height / 2) };
  };
  const apply = useCallback((v: View) => setView(clampView(v, box())), []);

  const setScale = useCallback((scale: number) => apply(zoomAbout(viewRef.current, scale, { x: 0, y: 0 })), [apply]);

  useEffect(() => {
    const el = stage.current;
    if (!el) return undefined;
    const pointers = new Map<number, Pointer>();
    let start: { view: View; points: Pointer[] } | null = null;
    let lastTap: { at: number; p: Pointer } | null = null;
    let moved = false;
    /** Whether the gesture now ending had two fingers down at some point (a pinch is no tap). */
    let pinched = false;

    const begin = () => {
      start = { view: viewRef.current, points: [...pointers.values()] };
      moved = false;
    };
    const toggleAt = (p: Pointer) => {
      const v = viewRef.current;
      apply(v.scale > 1 ? FITTED : zoomAbout(v, DOUBLE_TAP_SCALE, centred(p)));
    };

    const down = (e: PointerEvent) => {
      if (e.pointerType === 'mouse' && e.button !== 0) return;
      // Controls inside the stage (a video's own bar) keep their pointer events.
      if ((e.target as HTMLElement).closest('button, video')) return;
      try {
        el.setPointerCapture(e.pointerId);
      } catch {
        // A pointer the browser no longer tracks: the gesture still works without capture.
      }
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      if (pointers.size > 1) pinched = true;
      begin();
    };
    const move = (e: PointerEvent) => {
      if (!pointers.has(e.pointerId) || !start) return;
      pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
      const now = [...pointers.values()];
      const [a0, b0] = start.points;
      const [a1, b1] = now;
      if (!a0 || !a1) return;
      if (Math.hypot(a1.x - a0.x, a1.y - a0.y) > 4) moved = true;
      if (b0 && b1) {
        // Pinch: the scale follows the distance between the fingers, about their midpoint.
        const d0 = Math.hypot(b0.x - a0.x, b0.y - a0.y) || 1;
        const d1 = Math.hypot(b1.x - a1.x, b1.y - a1.y);
        const mid = centred({ x: (a1.x + b1.x) / 2, y: (a1.y + b1.y) / 2 });
        apply(zoomAbout(start.view, start.view.scale * (d1 / d0), mid));
      } else if (start.view.scale > 1) {
        apply({ ...start.view, x: start.view.x + a1.x - a0.x, y: start.view.y + a1.y - a0.y });
      } else {
        setDragging(true);
        setDragX(a1.x - a0.x);
      }
    };
    const up = (e: PointerEvent) => {
      if (!pointers.has(e.pointerId) || !start) return;
      const s = start;
      const p = pointers.get(e.pointerId)!;
      const [a0] = s.points;
      pointers.delete(e.pointerId);
      setDragging(false);
      setDragX(0);
      if (pointers.size > 0) {
        begin(); // one finger of a pinch lifted: the other pans from here
        return;
      }
      start = null;
      const wasPinch = pinched;
      pinched = false;
      if (wasPinch) return;
      if (s.points.length === 1 && s.view.scale === 1 && a0) {
        const dx = p.x - a0.x;
        const dy = p.y - a0.y;
        if (Math.abs(dx) >= SWIPE_PX && Math.abs(dx) > Math.abs(dy)) {
          swipe.current(dx < 0 ? 1 : -1);
          return;
        }
      }
      // A mouse's double click arrives as `dblclick`; touch and pen taps are counted here.
      if (e.pointerType !== 'mouse' && !moved && s.points.length === 1) {
        const now = e.timeStamp;
        if (
          lastTap &&
          now - lastTap.at < DOUBLE_TAP_MS &&
          Math.hypot(p.x - lastTap.p.x, p.y - lastTap.p.y) < DOUBLE_TAP_PX
        ) {
          lastTap = null;
          toggleAt(p);
        } else lastTap = { at: now, p };
      }
    };
    const cancel = (e: PointerEvent) => {
      pointers.delete(e.pointerId);
      if (!pointers.size) start = null;
      setDragging(false);
      setDragX(0);
    };
    const dbl = (e: MouseEvent) => {
      if ((e.target as HTMLElement).closest('button, video')) return;
      toggleAt({ x: e.clientX, y: e.clientY });
    };
    // Not passive: the wheel zooms the picture instead of scrolling (or zooming) the page.
    const wheel = (e: WheelEvent) => {
      e.preventDefault();
      const v = viewRef.current;
      apply(
        zoomAbout(
          v,
          v.scale * Math.exp(-e.deltaY * (e.ctrlKey ? 0.01 : 0.002)),
          centred({ x: e.clientX, y: e.clientY }),
        ),
      );
    };
    el.addEventListener('pointerdown', down);
    el.addEventListener('pointermove', move);
    el.addEventListener('pointerup', up);
    el.addEventListener('pointercancel', cancel);
    el.addEventListener('dblclick', dbl);
    el.addEventListener('wheel', wheel, { passive: false });
    return () => {
      el.removeEventListener('pointerdown', down);
      el.removeEventListener('pointermove', move);
      el.removeEventListener('pointerup', up);
      el.removeEventListener('pointercancel', cancel);
      el.removeEventListener('dblclick', dbl);
      el.removeEventListener('wheel', wheel);
    };
  }, [stage, apply]);

  return { view, setScale, dragging, dragX };
}
