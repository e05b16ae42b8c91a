/**
 * Profiles and presence visibility (C12). The server stores encrypted fields and hands each one out
 * only to the audience its owner chose: photo and about to `everyone`, `contacts` (default) or
 * `nobody`; the name to contacts only; last seen and online likewise. A requester who may see
 * nothing gets `profile_hidden`, the same answer as for an account without a profile, so a
 * stranger cannot even tell whether a profile exists. Fetches are limited per requester and target.
 */
import { ParleyError, fromB64, toB64, type ProfileBody, type Visibility } from '@parley/protocol';
import type { AuthedCaller, ServerContext } from '../context.ts';
import { enforceLimit } from './limits.ts';

const TEN_MINUTES = 10 * 60_000;

/** Store the caller's encrypted profile (replacing the previous one). */
export async function putProfile(ctx: ServerContext, caller: AuthedCaller, body: ProfileBody) {
  const field = (v: string | undefined) => (v === undefined ? null : fromB64(v));
  const open = body.open ?? [];
  if (open.length && !body.openKey)
    throw new ParleyError('bad_request', { details: { field: 'openKey', problem: 'required when fields are open' } });
  await ctx.storage.profiles.putProfile({
    accountId: caller.accountId,
    version: body.version,
    name: field(body.name),
    about: field(body.about),
    photo: field(body.photo),
    openFields: [...new Set(open)],
    openKey: body.openKey ? fromB64(body.openKey) : null,
    updatedAt: ctx.now(),
  });
  return { version: body.version };
}

/** What `viewer` may see of `owner`: whether it is a contact, and a test for each visibility setting. */
async function audience(ctx: ServerContext, owner: string, viewer: string) {
  const [privacy, contact] = await Promise.all([
    ctx.storage.profiles.getPrivacy(owner),
    ctx.storage.profiles.isContact(owner, viewer),
  ]);
  const may = (v: Visibility) => v === 'everyone' || (v === 'contacts' && contact);
  return { privacy, contact, may };
}

/** The fields of `accountId`'s profile the caller may see. */
export async function getProfile(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  // The owner's own devices read everything, unlimited (a device that reinstalled continues the version).
  const own = accountId === caller.accountId;
  if (!own)
    await enforceLimit(ctx, `profile:${caller.accountId}:${accountId}`, {
      limit: ctx.config.profileFetchesPerTarget,
      windowMs: TEN_MINUTES,
    });
  const profile = await ctx.storage.profiles.getProfile(accountId);
  if (!profile) throw new ParleyError('profile_hidden');
  // The owner needs no settings read: every field is theirs to see.
  const seen = own ? null : await audience(ctx, accountId, caller.accountId);
  const contact = seen?.contact ?? true;
  const may = (field: 'about' | 'photo') => !seen || seen.may(seen.privacy[field]);
  const out: {
    accountId: string;
    version: number;
    name?: string;
    about?: string;
    photo?: string;
    open?: ('about' | 'photo')[];
    openKey?: string;
  } = { accountId, version: profile.version };
  if (contact && profile.name) out.name = toB64(profile.name);
  if (may('about') && profile.about) out.about = toB64(profile.about);
  if (may('photo') && profile.photo) out.photo = toB64(profile.photo);
  if (out.name === undefined && out.about === undefined && out.photo === undefined)
    throw new ParleyError('profile_hidden');
  const open = profile.openFields.filter((f) => out[f] !== undefined);
  if (open.length && profile.openKey) {
    out.open = open;
    out.openKey = toB64(profile.openKey);
  }
  return out;
}

/** Online and last seen of `accountId`, each only if its owner lets the caller see it. */
export async function getPresence(ctx: ServerContext, caller: AuthedCaller, accountId: string) {
  await enforceLimit(ctx, `presence:${caller.accountId}:${accountId}`, {
    limit: ctx.config.presenceFetchesPerTarget,
    windowMs: TEN_MINUTES,
  });
  if (!(await ctx.storage.accounts.getAccount(accountId))) throw new ParleyError('account_not_found');
  const { privacy, may } = await audience(ctx, accountId, caller.accountId);
  const out: { online?: boolean; lastSeen?: number } = {};
  const online = may(privacy.online) || may(privacy.lastSeen) ? await ctx.profiles.isOnline(accountId) : false;
  if (may(privacy.online)) out.online = online;
  if (may(privacy.lastSeen)) {
    const seen = online ? ctx.now() : await ctx.storage.profiles.getLastSeen(accountId);
    if (seen !== null) out.lastSeen = seen;
  }
  return out;
}
