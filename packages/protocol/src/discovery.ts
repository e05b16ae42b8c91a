/**
 * Private contact discovery and discoverability settings (C12). The client never sends a phone
 * number: it sends blinded group elements (`discoverEvaluate`), unblinds the answers into tags on
 * its own, and asks which tags belong to discoverable accounts (`discoverLookup`). See
 * docs/discovery.md.
 */
import { z } from 'zod';
import { accountIdSchema } from './common.ts';
import { visibilitySettings } from './profiles.ts';

/** Most numbers (elements or tags) in one discovery request. */
export const DISCOVERY_BATCH = 1000;

/** One 32-byte value (a ristretto255 element or a discovery tag) as unpadded base64url: exactly 43 characters. */
export const element32Schema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes of unpadded base64url (43 characters)');

export const discoverEvaluateBody = z
  .object({ blinded: z.array(element32Schema).min(1).max(DISCOVERY_BATCH) })
  .strict();
/** `evaluated[i]` answers `blinded[i]`. */
export const discoverEvaluateResponse = z.object({ evaluated: z.array(element32Schema) });

export const discoverLookupBody = z.object({ tags: z.array(element32Schema).min(1).max(DISCOVERY_BATCH) }).strict();
/** Only tags of registered accounts that let themselves be found by number are answered. */
export const discoverLookupResponse = z.object({
  matches: z.array(z.object({ tag: element32Schema, accountId: accountIdSchema })),
  /** New numbers this account may still look up today (after this request). */
  remaining: z.number().int().nonnegative(),
});

/** Who can find this account by its phone number. */
export const findByNumberSchema = z.enum(['everyone', 'nobody']);
export type FindByNumber = z.infer<typeof findByNumberSchema>;

/** Privacy settings: who finds the account by number, and who sees photo, about, last seen and online (docs/profiles.md). */
export const settingsResponse = z.object({ findByNumber: findByNumberSchema, ...visibilitySettings.shape });
/** Any of the settings; the others stay as they are. */
export const settingsBody = settingsResponse.partial().strict();
export type Settings = z.infer<typeof settingsResponse>;
