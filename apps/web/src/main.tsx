/** Web client entry (C15): opens the device store and the Parley client, then renders the app. */
// First: zod must not probe for `new Function` under the strict CSP (jitless.ts).
import './jitless.ts';
import { createRoot } from 'react-dom/client';
import { IndexedDbStore, ParleyClient } from '@parley/sdk';
import { App } from './App.tsx';
import './styles.css';
import './layout.css';
import { callOptions } from './calls/settings.ts';

async function boot(): Promise<void> {
  const store = await IndexedDbStore.open('parley');
  // The call options read the client late: ICE servers are fetched from its server for every call.
  let opened: ParleyClient | undefined;
  const client = await ParleyClient.open({ store, calls: callOptions(() => opened) });
  opened = client;
  createRoot(document.getElementById('root')!).render(<App client={client} />);
}

void boot();
