/**
 * `@parley/web/testing`: the web client's parts that Node tests drive directly, without a browser
 * (C12, C15): the profile cache, which needs only a `ParleyClient` and an injectable clock, and the
 * chat list's words for messages and days and when the next mute ends, which take "now" as an
 * argument.
 */
export { ProfileStore, type ShownProfile } from './contacts/profiles.ts';
export { dayLabel, listTime, previewOf } from './chatlist/format.ts';
export { withDaySeparators } from './chatlist/DaySeparators.tsx';
export { nextMuteEnd } from './mute/expiry.ts';
