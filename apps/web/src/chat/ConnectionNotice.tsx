/**
 * A line under the chat header while the connection is not up (C15): on a phone the chat covers
 * the list and its connection pill, so the chat itself says that what is written now waits.
 */
import type { ConnectionView } from '../connection.ts';

/** "Offline" / "Connecting" notice, or nothing while online. */
export function ConnectionNotice({ connection }: { connection: ConnectionView }) {
  if (connection === 'online') return null;
  return (
    <p className={`conn-notice conn-notice-${connection}`} role="status">
      {connection === 'offline'
        ? 'Offline. Messages you write are sent when the connection is back.'
        : 'Connecting… Messages you write are sent once connected.'}
    </p>
  );
}
