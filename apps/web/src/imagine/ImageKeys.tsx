/**
 * Settings → "Image generation keys" (C9 device-direct mode): add a provider key for this device,
 * or remove one. The key is kept in this device's store with its other keys and used only by this
 * device to call the provider itself; the Parley server never receives it, and the page never
 * shows it again once saved. Loaded on first view (`LazyImagine.tsx`).
 */
import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import type { ImageModel, ParleyClient } from '@parley/sdk';
import { describeError } from '../errors.ts';
import { StatusLine } from '../settings/StatusLine.tsx';

/** The providers a key can be added for here (ComfyUI needs a workflow, which the CLI and SDK take). */
export const KEY_PROVIDERS = [
  { id: 'bfl', name: 'Black Forest Labs (Flux)', baseUrl: 'https://api.bfl.ai' },
  { id: 'openai', name: 'OpenAI-compatible', baseUrl: 'https://api.openai.com' },
  { id: 'replicate', name: 'Replicate', baseUrl: 'https://api.replicate.com' },
  { id: 'fal', name: 'fal', baseUrl: 'https://queue.fal.run' },
  { id: 'a1111', name: 'AUTOMATIC1111 / stable-diffusion.cpp', baseUrl: 'http://127.0.0.1:7860' },
] as const;

type ProviderId = (typeof KEY_PROVIDERS)[number]['id'];

/** A short id for a new key, from its display name. */
function idFor(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40);
  return slug || 'model';
}

/** The settings section. */
export default function ImageKeys({ client }: { client: ParleyClient }) {
  const ids = useId();
  const [list, setList] = useState<ImageModel[] | null>(null);
  const [provider, setProvider] = useState<ProviderId>('bfl');
  const [baseUrl, setBaseUrl] = useState<string>(KEY_PROVIDERS[0].baseUrl);
  const [apiKey, setApiKey] = useState('');
  const [model, setModel] = useState('');
  const [name, setName] = useState('');
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    try {
      setList((await client.imageModels()).filter((m) => m.where === 'device'));
    } catch (e) {
      setError(describeError(e));
    }
  }, [client]);
  useEffect(() => {
    void load();
  }, [load]);

  const add = async (e: FormEvent) => {
    e.preventDefault();
    setStatus(null);
    setError(null);
    if (!apiKey.trim() || !model.trim() || !name.trim() || !baseUrl.trim()) {
      setError('Fill in the address, key, model and name.');
      return;
    }
    setBusy(true);
    try {
      await client.addImageProvider({
        id: idFor(name),
        provider,
        baseUrl: baseUrl.trim(),
        apiKey: apiKey.trim(),
        model: model.trim(),
        displayName: name.trim(),
      });
      setApiKey('');
      setModel('');
      setName('');
      setStatus(`Key for ${name.trim()} saved on this device.`);
      await load();
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  const remove = async (m: ImageModel) => {
    setStatus(null);
    setError(null);
    try {
      await client.removeImageProvider(m.id);
      setStatus(`Key for ${m.displayName} removed from this device.`);
      await load();
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <section className="settings-card imagine-keys" aria-labelledby={`${ids}-title`}>
      <h3 id={`${ids}-title`}>Image generation keys</h3>
      <p className="hint">
        Use your own account at an image service. The key is stored on this device only, with its other keys; the Parley
        server never receives it. Prompts for these models go from this device straight to the service.
      </p>
      {list && list.length > 0 && (
        <ul className="imagine-key-list" aria-label="Keys on this device">
          {list.map((m) => (
            <li key={m.id}>
              <span>
                <strong>{m.displayName}</strong> <span className="hint">{m.recipient}</span>
              </span>
              <button type="button" className="secondary" onClick={() => void remove(m)}>
                Remove key for {m.displayName}
              </button>
            </li>
          ))}
        </ul>
      )}
      {list && list.length === 0 && <p>No keys on this device.</p>}
      <form onSubmit={(e) => void add(e)} aria-label="Add an image generation key">
        <label htmlFor={`${ids}-provider`}>Service</label>
        <select
          id={`${ids}-provider`}
          value={provider}
          onChange={(e) => {
            const p = KEY_PROVIDERS.find((x) => x.id === e.target.value)!;
            setProvider(p.id);
            setBaseUrl(p.baseUrl);
          }}
        >
          {KEY_PROVIDERS.map((p) => (
            <option key={p.id} value={p.id}>
              {p.name}
            </option>
          ))}
        </select>
        <label htmlFor={`${ids}-url`}>Service address</label>
        <input id={`${ids}-url`} type="url" value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
        <label htmlFor={`${ids}-key`}>API key</label>
        <input
          id={`${ids}-key`}
          type="password"
          autoComplete="off"
          value={apiKey}
          onChange={(e) => setApiKey(e.target.value)}
        />
        <label htmlFor={`${ids}-model`}>Model at the service</label>
        <input
          id={`${ids}-model`}
          placeholder="flux-pro-1.1"
          value={model}
          onChange={(e) => setModel(e.target.value)}
        />
        <label htmlFor={`${ids}-name`}>Name to show</label>
        <input
          id={`${ids}-name`}
          placeholder="FLUX1.1 [pro]"
          maxLength={100}
          value={name}
          onChange={(e) => setName(e.target.value)}
        />
        <button type="submit" disabled={busy}>
          Add key
        </button>
      </form>
      <StatusLine text={status} error={error} />
    </section>
  );
}
