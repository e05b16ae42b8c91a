/**
 * The first-use notice of image generation (C9): before the first generation with a model, the
 * sheet shows that model's sentence (whether the prompt leaves end-to-end encryption and who
 * receives it), and nothing runs until it is acknowledged. Acknowledged sentences are kept in this
 * browser's localStorage, so the notice comes once per device and again when a model would send
 * the prompt somewhere new (another provider or server gives another sentence).
 */

const KEY = 'parley:imagine-notices';

/** The sentences this device has acknowledged. */
function acknowledged(): string[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/** Whether `notice` was acknowledged on this device. */
export function noticeAcknowledged(notice: string): boolean {
  return acknowledged().includes(notice);
}

/** Remember that `notice` was acknowledged on this device. */
export function acknowledgeNotice(notice: string): void {
  const list = acknowledged();
  if (list.includes(notice)) return;
  // A bounded list: old sentences (servers or keys long gone) fall off first.
  localStorage.setItem(KEY, JSON.stringify([...list, notice].slice(-50)));
}
