/**
 * `parley export` (C16): a zip of one chat or all chats, made on this device from its own decrypted
 * history (schema and layout in docs/export.md). The zip is written to a temporary file beside
 * `--out` and renamed into place once complete, so a failed export never leaves a partial file.
 */
import { open, rename, rm } from 'node:fs/promises';
import { exportChats, type ParleyClient } from '@parley/sdk';
import { existingConversation } from './addresses.ts';
import { need, opt, UsageError, type ParsedArgs } from './args.ts';

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
