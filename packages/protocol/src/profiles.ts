/**
 * Profiles (C12): name, photo and about are encrypted on the device with a profile key that travels
 * only inside MLS conversations the owner has accepted (content kind `profile-key`); the server
 * stores ciphertext and serves each field only to the audience its owner chose. Visibility also
 * governs last seen and online. See docs/profiles.md.
 */
import { z } from 'zod';
import { b64 } from './common.ts';

/** Who may see a profile field or presence: anyone, accounts with an accepted chat, or nobody. */
export const visibilitySchema = z.enum(['everyone', 'contacts', 'nobody']);
export type Visibility = z.infer<typeof visibilitySchema>;

export const PROFILE_LIMITS = {
  /** Encrypted name or about text (ciphertext bytes, nonce and tag included). */
  textBytes: 1024,
  /** Encrypted photo (a small JPEG or PNG avatar made on the device). */
  photoBytes: 96 * 1024,
} as const;

export const profileFieldSchema = z.enum(['name', 'about', 'photo']);
export type ProfileField = z.infer<typeof profileFieldSchema>;

/** The fields an owner may publish to everyone (encrypted under `openKey`). */
const openFieldsSchema = z.array(z.enum(['about', 'photo']));
/** A 32-byte AES key as base64url (the profile key, or the open key). */
const keySchema = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes of base64url');

/**
 * Profile fields as stored: each one AES-256-GCM ciphertext (12-byte nonce ‖ ciphertext ‖ tag).
 * Fields are encrypted under the profile key, except those listed in `open` (photo or about set to
 * `everyone`), which are encrypted under `openKey`, published with them so that anyone may read
 * them, the server included: the owner's explicit choice.
 */
export const profileBody = z
  .object({
    /** Bumped by the device on every change; ciphertext is bound to it. */
    version: z
      .number()
      .int()
      .nonnegative()
      .max(2 ** 31),
    name: b64(PROFILE_LIMITS.textBytes).optional(),
    about: b64(PROFILE_LIMITS.textBytes).optional(),
    photo: b64(PROFILE_LIMITS.photoBytes).optional(),
    open: openFieldsSchema.max(2).optional(),
    openKey: keySchema.optional(),
  })
  .strict();
export type ProfileBody = z.infer<typeof profileBody>;

/** What a requester gets: only the fields it may see; absent fields are hidden or unset. */
export const profileResponse = z.object({
  accountId: z.string(),
  version: z.number().int(),
  name: z.string().optional(),
  about: z.string().optional(),
  photo: z.string().optional(),
  /** Fields among those returned that are encrypted under `openKey` rather than the profile key. */
  open: openFieldsSchema.optional(),
  openKey: z.string().optional(),
});
export type ProfileResponse = z.infer<typeof profileResponse>;

/** Presence as the requester may see it. */
export const presenceResponse = z.object({ online: z.boolean().optional(), lastSeen: z.number().int().optional() });

/** The visibility settings; each defaults to `contacts`. */
export const visibilitySettings = z.object({
  photo: visibilitySchema,
  about: visibilitySchema,
  lastSeen: visibilitySchema,
  online: visibilitySchema,
});
export type VisibilitySettings = z.infer<typeof visibilitySettings>;

/** The profile key, shared end to end inside a conversation (never with the server). */
export const profileKeyContent = z.object({
  type: z.literal('profile-key'),
  key: keySchema,
  version: z.number().int().nonnegative(),
});
