/**
 * Whether this account has blocked someone (C15), kept current: the SDK says so at once for a
 * change made here and when this device learns of one made on a linked device.
 */
import { useEffect, useState } from 'react';
import type { ParleyClient } from '@parley/sdk';

/** True while this account blocks `accountId` (false without one). */
export function useBlocked(client: ParleyClient, accountId: string | undefined): boolean {
  useBlockListVersion(client);
  return accountId ? client.isBlocked(accountId) : false;
}

/** A number that changes whenever the block list does, so a component re-renders then. */
export function useBlockListVersion(client: ParleyClient): number {
  const [version, setVersion] = useState(0);
  useEffect(() => client.on('blocked', () => setVersion((v) => v + 1)), [client]);
  return version;
}
