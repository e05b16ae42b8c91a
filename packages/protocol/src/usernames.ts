/**
 * Usernames (C12): an optional handle `name.NN` (a nickname and a number of two or more digits)
 * to be found by without sharing a phone number. The server stores only a keyed hash of the
 * username's hash and answers exact matches only: it cannot list or search usernames. See
 * docs/discovery.md ("Usernames").
 */
import { z } from 'zod';
import { accountIdSchema } from './common.ts';
import { element32Schema } from './discovery.ts';

/** What a user types: 3–32 letters, digits or `_` starting with a letter, a dot, 2–9 digits. Case-insensitive. */
export const USERNAME_PATTERN = /^[a-z][a-z0-9_]{2,31}\.[0-9]{2,9}$/;

/** A username as entered, checked after lower-casing (see `normaliseUsername`). */
export const usernameSchema = z
  .string()
  .max(64)
  .transform((s) => s.trim().toLowerCase())
  .pipe(
    z
      .string()
      .regex(
        USERNAME_PATTERN,
        'must look like name.42: 3-32 letters, digits or _ (starting with a letter), a dot, then 2-9 digits',
      ),
  );

export const setUsernameBody = z.object({ usernameHash: element32Schema }).strict();
export const usernameLookupBody = z.object({ usernameHash: element32Schema }).strict();
export const usernameLookupResponse = z.object({ accountId: accountIdSchema });
export const usernameStateResponse = z.object({ hasUsername: z.boolean() });
