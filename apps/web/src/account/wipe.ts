/**
 * Wiping the web client's local data (C1, C15), after this device logged out: every IndexedDB
 * database of this origin (the SDK's `parley` store with keys, groups and history, and any other),
 * localStorage (trust marks, usernames found, settings), sessionStorage (read marks) and the Cache
 * Storage. Nothing of the account is left in the browser afterwards.
 */

/** Delete one IndexedDB database; resolves once it is gone (or could not be deleted). */
function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(name);
    req.onsuccess = () => resolve();
    req.onerror = () => resolve();
    // `blocked` means a connection is still open; the deletion then completes once it closes.
  });
}

/** Delete everything this origin keeps on the device. */
export async function wipeLocalData(): Promise<void> {
  const listed = typeof indexedDB.databases === 'function' ? await indexedDB.databases() : [];
  const names = new Set(['parley', ...listed.flatMap((d) => (d.name ? [d.name] : []))]);
  await Promise.all([...names].map(deleteDatabase));
  localStorage.clear();
  sessionStorage.clear();
  if ('caches' in globalThis) for (const key of await caches.keys()) await caches.delete(key);
}
