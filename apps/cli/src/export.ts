/**
 * `parley export` (C16): a zip of one chat or all chats, made on this device from its own decrypted
 * history (schema and layout in docs/export.md). The zip is written to a temporary file beside
 * `--out` and renamed into place once complete, so a failed export never leaves a partial file.
 */
import { open, rename, rm } from 'node:fs/promises';
import { ParleyError, exportChats, type ParleyClient } from '@parley/sdk';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';

/**
 * The conversation `addr` names on this device (`group:ID`, `+E164`, `@name.NN`, `account:ID`), or
 * `conversation_not_found`. Unlike `send`, it never starts a chat.
 */
export async function existingConversation(
  client: ParleyClient,
  addr: string,
  accountOf: (who: string) => Promise<string>,
): Promise<string> {
  const convs = client.conversations();
  if (addr.startsWith('group:')) {
    const id = addr.slice(6);
    if (convs.some((c) => c.id === id)) return id;
  } else {
    const account = await accountOf(addr);
    const direct = convs.find((c) => c.kind === 'direct' && c.peer === account);
    if (direct) return direct.id;
  }
  throw new ParleyError('conversation_not_found', { message: `This device has no chat with ${addr}.` });
}

/** Runs `export`; prints one JSON line describing the zip. */
export async function exportCommand(
  args: ParsedArgs,
  client: ParleyClient,
  accountOf: (who: string) => Promise<string>,
  print: (obj: unknown) => void,
): Promise<void> {
  const out = need(args, 'out');
  if (!out.endsWith('.zip')) throw new UsageError('--out must name a .zip file');
  const days = opt(args, 'days');
  if (days !== undefined && !/^[1-9]\d{0,4}$/.test(days))
    throw new UsageError('--days must be a whole number of days (1-99999)');
  const addr = opt(args, 'conversation');
  const conversationId = addr ? await existingConversation(client, addr, accountOf) : undefined;
  const tmp = `${out}.partial`;
  const file = await open(tmp, 'w');
  let bytes = 0;
  try {
    const manifest = await exportChats(client, {
      ...(conversationId ? { conversationId } : {}),
      ...(days ? { since: Date.now() - Number(days) * 86_400_000 } : {}),
      media: !args.flags.has('without-media'),
      write: async (chunk) => {
        bytes += chunk.length;
        await file.write(chunk);
      },
    });
    await file.close();
    await rename(tmp, out);
    print({
      out,
      bytes,
      chats: manifest.chats.length,
      messages: manifest.chats.reduce((n, c) => n + c.messages, 0),
      mediaFiles: manifest.chats.reduce((n, c) => n + c.mediaFiles, 0),
      media: manifest.media,
    });
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw e;
  }
}
