/**
 * `parley imagine keys add|list|remove` (C9 device-direct mode): provider keys kept in this
 * profile's device store, next to its other keys, and used only by this device to call the
 * provider itself; the Parley server never receives them. One JSON line per key or action; a key
 * is never printed back in full (only "…" and its last four characters). Nothing here connects to
 * the server.
 */
import { readFile } from 'node:fs/promises';
import { ParleyError, keyHint, type DeviceKeyInfo, type ParleyClient } from '@parley/sdk';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';

/** Where each provider's API is unless `--base-url` says otherwise, and a model to start with. */
const DEFAULTS: Readonly<Record<string, { baseUrl?: string; model?: string }>> = {
  bfl: { baseUrl: 'https://api.bfl.ai', model: 'flux-pro-1.1' },
  openai: { baseUrl: 'https://api.openai.com', model: 'gpt-image-1' },
  replicate: { baseUrl: 'https://api.replicate.com', model: 'black-forest-labs/flux-schnell' },
  fal: { baseUrl: 'https://queue.fal.run', model: 'fal-ai/flux/schnell' },
  comfyui: {},
  a1111: {},
};

/** What `keys add` asks for, checked before the profile is opened. */
export interface KeyAddArgs {
  id: string;
  provider: string;
  apiKey: string;
  baseUrl: string;
  model: string;
  displayName: string;
  workflowPath?: string;
}

/** The flags of `imagine keys add`, or a usage error. */
export function keyAddArgs(args: ParsedArgs): KeyAddArgs {
  const provider = need(args, 'provider');
  const defaults = DEFAULTS[provider];
  if (!defaults) throw new UsageError(`--provider must be one of ${Object.keys(DEFAULTS).join(', ')}`);
  const apiKey = need(args, 'key');
  const baseUrl = opt(args, 'base-url') ?? defaults.baseUrl;
  if (!baseUrl) throw new UsageError(`--base-url is needed for ${provider} (the address of your own server)`);
  if (!/^https?:\/\/\S+$/.test(baseUrl)) throw new UsageError('--base-url must be an http:// or https:// address');
  const model = opt(args, 'model') ?? defaults.model;
  if (!model) throw new UsageError(`--model is needed for ${provider}`);
  const workflowPath = opt(args, 'workflow');
  if (provider === 'comfyui' && !workflowPath)
    throw new UsageError('--workflow FILE is needed for comfyui (an API-format workflow)');
  const id = opt(args, 'id') ?? provider;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new UsageError('--id must be 1–64 of A-Z a-z 0-9 . _ -');
  return {
    id,
    provider,
    apiKey,
    baseUrl,
    model,
    displayName: opt(args, 'name') ?? model,
    ...(workflowPath ? { workflowPath } : {}),
  };
}

/** One line for a key kept on this device. */
function keyLine(k: DeviceKeyInfo): Record<string, unknown> {
  return {
    id: k.id,
    provider: k.provider,
    baseUrl: k.baseUrl,
    model: k.model,
    name: k.displayName,
    key: k.keyHint,
    storedOn: 'this device',
  };
}

/** Run `imagine keys <add|list|remove>` on an opened, registered profile. */
export async function imagineKeys(
  client: ParleyClient,
  args: ParsedArgs,
  out: (line: Record<string, unknown>) => void,
): Promise<void> {
  const action = args.words[2];
  if (action === 'list') {
    for (const k of await client.imageProviders()) out(keyLine(k));
    return;
  }
  if (action === 'remove') {
    const id = need(args, 'id');
    const full = id.startsWith('device:') ? id : `device:${id}`;
    if (!(await client.imageProviders()).some((k) => k.id === full))
      throw new ParleyError('image_model_unknown', { message: `No key ${full} on this device.` });
    await client.removeImageProvider(full);
    out({ status: 'removed', id: full });
    return;
  }
  if (action === 'add') {
    const a = keyAddArgs(args);
    let workflow: Record<string, unknown> | undefined;
    if (a.workflowPath) {
      try {
        workflow = JSON.parse(await readFile(a.workflowPath, 'utf8')) as Record<string, unknown>;
      } catch (e) {
        throw new UsageError(`--workflow ${a.workflowPath}: ${(e as Error).message}`);
      }
    }
    const id = await client.addImageProvider({
      id: a.id,
      provider: a.provider as 'bfl',
      baseUrl: a.baseUrl,
      apiKey: a.apiKey,
      model: a.model,
      displayName: a.displayName,
      ...(workflow ? { workflow } : {}),
    });
    out({
      status: 'added',
      id,
      provider: a.provider,
      baseUrl: a.baseUrl,
      model: a.model,
      name: a.displayName,
      key: keyHint(a.apiKey),
      storedOn: 'this device',
    });
    return;
  }
  throw new UsageError('imagine keys takes add, list or remove');
}
