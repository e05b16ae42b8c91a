/** Web client entry (C15): opens the device store and the Parley client, then renders the app. */
import { createRoot } from 'react-dom/client';
import { IndexedDbStore, ParleyClient } from '@parley/sdk';
import { App } from './App.tsx';
import './styles.css';

async function boot(): Promise<void> {
  const store = await IndexedDbStore.open('parley');
  const client = await ParleyClient.open({ store });
  createRoot(document.getElementById('root')!).render(<App client={client} />);
}

void boot();
