/**
 * Chats named on the command line (`+E164`, `@name.NN`, `account:ID`, `group:ID`) that must
 * already be on this device: commands that read or rearrange (search, export, pin, react, edit,
 * delete) never start a chat, unlike `send`.
 */
import { ParleyError, type ParleyClient } from '@parley/sdk';

/**
 * The conversation `addr` names on this device, or `conversation_not_found`. `resolveAccount`
 * turns a person's address into an account id (it may ask the server; it never starts a chat).
 */
export async function existingConversation(
  client: ParleyClient,
  addr: string,
  resolveAccount: (who: string) => Promise<string>,
): Promise<string> {
  if (addr.startsWith('group:')) {
    const id = addr.slice(6);
    if (client.history.conversation(id)) return id;
  } else {
    const account = await resolveAccount(addr);
    const direct = client.conversations().find((c) => c.kind === 'direct' && c.peer === account);
    if (direct) return direct.id;
  }
  throw new ParleyError('conversation_not_found', { message: `This device has no chat with ${addr}.` });
}
