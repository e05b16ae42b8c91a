/** Username format checks on the device (C12): the server only ever sees a hash. */
import { ParleyError, usernameSchema } from '@parley/protocol';

/**
 * Lower-case and check a username (`name.42`; a leading `@` is allowed and dropped).
 * @throws ParleyError `username_invalid` with the reason.
 */
export function normaliseUsername(name: string): string {
  const r = usernameSchema.safeParse(name.trim().replace(/^@/, ''));
  if (!r.success) throw new ParleyError('username_invalid', { details: r.error.issues.map((i) => i.message) });
  return r.data;
}
