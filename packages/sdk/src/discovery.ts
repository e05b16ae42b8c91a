/**
 * Private contact discovery, client side (C12). Numbers are blinded on this device, evaluated by the
 * server under its OPRF key, unblinded here into tags, and only the tags are looked up; the server
 * never sees a number. Results are cached in the device store, so a re-sync of known contacts sends
 * nothing and costs no quota.
 */
import { DISCOVERY_BATCH, ParleyError, fromB64, phoneSchema, toB64 } from '@parley/protocol';
import { blindNumber, discoveryTag, finalizeNumber } from '@parley/crypto';
import type { HttpApi } from './transport/http.ts';
import type { DeviceStore } from './store/types.ts';

const CACHE_KEY = 'discovery';
/** A "not on Parley" answer is asked again after this long (the person may join). */
const NEGATIVE_TTL_MS = 24 * 3_600_000;

interface CacheEntry {
  account: string | null;
  at: number;
}

/**
 * Check each number is E.164 (as `+14155550123`), before anything is sent.
 * @throws ParleyError `phone_invalid` naming the first bad entry by index.
 */
export function checkNumbers(numbers: string[]): void {
  numbers.forEach((n, index) => {
    if (!phoneSchema.safeParse(n).success) throw new ParleyError('phone_invalid', { details: { index, number: n } });
  });
}

/**
 * Which of `numbers` belong to accounts that can be found by number: number → account id, or
 * null. Cached answers are reused; the rest go through the OPRF in batches. A refusal (for
 * example `rate_limited` over the discovery quota) propagates and caches nothing of its batch.
 * `askAgainIfMissing` sends cached "not found" answers again (a person typing a number to start a
 * chat with someone who may have just joined); a contact sync leaves it off, so re-syncing unknown
 * numbers costs no quota for a day.
 */
export async function discover(
  api: HttpApi,
  store: DeviceStore,
  numbers: string[],
  now = Date.now(),
  askAgainIfMissing = false,
): Promise<Map<string, string | null>> {
  checkNumbers(numbers);
  const cache = (await store.get<Record<string, CacheEntry>>(CACHE_KEY)) ?? {};
  const result = new Map<string, string | null>();
  const todo: string[] = [];
  for (const n of new Set(numbers)) {
    const hit = cache[n];
    if (hit && (hit.account !== null || (!askAgainIfMissing && now - hit.at < NEGATIVE_TTL_MS)))
      result.set(n, hit.account);
    else todo.push(n);
  }
  for (let i = 0; i < todo.length; i += DISCOVERY_BATCH) {
    const batch = todo.slice(i, i + DISCOVERY_BATCH);
    const blinded = batch.map((n) => blindNumber(n));
    const { evaluated } = await api.discoverEvaluate(blinded.map((b) => toB64(b.blinded)));
    if (evaluated.length !== batch.length)
      throw new ParleyError('internal', { message: 'The server answered a different number of elements.' });
    const tags = batch.map((n, j) => toB64(discoveryTag(finalizeNumber(n, blinded[j]!.blind, fromB64(evaluated[j]!)))));
    const { matches } = await api.discoverLookup(tags);
    const byTag = new Map(matches.map((m) => [m.tag, m.accountId]));
    batch.forEach((n, j) => {
      const account = byTag.get(tags[j]!) ?? null;
      result.set(n, account);
      cache[n] = { account, at: now };
    });
    await store.set(CACHE_KEY, cache);
  }
  return result;
}
