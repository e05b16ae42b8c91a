/**
 * Poll a condition until it holds (browser state changes asynchronously); fails with `what`, or
 * with what `what()` says at that moment (e.g. the last values measured).
 */
export async function expect(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 15_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out: ${typeof what === 'function' ? what() : what}${last ? ` (${(last as Error).message})` : ''}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
