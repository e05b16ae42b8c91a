/** Row helpers shared by every storage entity (C19): driver values to plain JavaScript ones. */

/** Copy bytes into a plain Uint8Array (drivers hand out Buffers). */
export const u8 = (b: Uint8Array): Uint8Array => (b.constructor === Uint8Array ? b : new Uint8Array(b));
/** A driver's integer (bigint columns arrive as strings or bigints) as a number. */
export const num = (v: number | string | bigint): number => Number(v);

/** True for a unique-constraint violation on either driver. */
export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return (
    err?.code === '23505' ||
    err?.code === 'SQLITE_CONSTRAINT_UNIQUE' ||
    err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed/.test(err?.message ?? '')
  );
}
