/**
 * `@parley/web/testing`: the web client's parts that Node tests drive directly, without a browser
 * (C12): the profile cache, which needs only a `ParleyClient` and an injectable clock.
 */
export { ProfileStore, type ShownProfile } from './contacts/profiles.ts';
