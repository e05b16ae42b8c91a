/**
 * Small helpers the bench scenarios share: waiting, clocks, rounding and medians of samples, and
 * the two RFC 6464 levels (in −dBov) the call scenarios send.
 */

/** The level of the participant who talks, and of everyone else. */
export const LOUD = 9;
export const SILENT = 127;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wall-clock milliseconds with sub-millisecond resolution (comparable across processes). */
export const wallMs = () => performance.timeOrigin + performance.now();

/** `x` rounded to `d` decimals. */
export const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** The median (upper middle) of the samples, NaN when there are none. */
export const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! : NaN);
