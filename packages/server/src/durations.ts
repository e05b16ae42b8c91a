/**
 * Durations in milliseconds (C1, C12), for rate rules and day counting. A leaf module: actions and
 * services both use these, and services must never import actions.
 */

/** One hour in milliseconds. */
export const HOUR = 3_600_000;
/** One day in milliseconds. */
export const DAY = 24 * HOUR;
