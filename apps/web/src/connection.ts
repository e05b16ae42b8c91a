/**
 * What the connection pill says (C15): the SDK's socket state, except that a browser that says it
 * is offline is offline. The browser's `offline` / `online` events also reach the SDK: the socket
 * is dropped at once (queued sends wait, shown as "Sending") and re-opened as soon as the network
 * is back instead of at the end of the reconnect backoff.
 */
import { useEffect, useState } from 'react';
import type { ParleyClient, SocketState } from '@parley/sdk';

/** What the pill shows. */
export type ConnectionView = 'online' | 'connecting' | 'offline';

/** The connection as the pill shows it, kept current from the client and the browser. */
export function useConnectionView(client: ParleyClient, active: boolean): ConnectionView {
  const [socket, setSocket] = useState<SocketState>('connecting');
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const off = client.on('connection', setSocket);
    return () => {
      off();
    };
  }, [client]);
  useEffect(() => {
    if (!active) return undefined;
    const change = () => {
      setOnline(navigator.onLine);
      client.networkChanged(navigator.onLine);
    };
    window.addEventListener('online', change);
    window.addEventListener('offline', change);
    return () => {
      window.removeEventListener('online', change);
      window.removeEventListener('offline', change);
    };
  }, [client, active]);
  if (!online || socket === 'closed') return 'offline';
  return socket === 'ready' ? 'online' : 'connecting';
}
