/**
 * `POST /{v}/{phone-number-id}/messages` (C10, docs/business.md "Sending"): a message of one type to
 * a user, or a read mark for a user's message. The body is checked in full first (a refused
 * request changes nothing); then the number's hosted device sends a real MLS message to the user's
 * devices in their direct chat. As on the Cloud API, a number that is no Parley account still gets
 * an id back and its `failed` status (131026) arrives by webhook.
 */
import { randomBytes } from 'node:crypto';
import {
  businessMarkReadBody,
  businessMessageSchema,
  businessSendBody,
  isParleyError,
  type BusinessMessage,
  type BusinessSendBody,
  type BusinessSendResponse,
} from '@parley/protocol';
import type { ServerContext } from '../context.ts';
import type { BusinessNumberRow } from '../storage/business.ts';
import { BusinessApiError } from './errors.ts';
import type { BusinessDevices, HostedContent } from './hosted.ts';
import { hosted } from './runtime.ts';
import { parseWamid, waId, wamidOf } from './webhooks.ts';
import { templateMessage } from './templates.ts';
import { uploadedMediaContent } from './media.ts';

/** A message id the business named that this number's device holds in that chat. */
async function knownMessage(
  devices: BusinessDevices,
  number: BusinessNumberRow,
  wamid: string,
  field: string,
): Promise<{ conversationId: string; messageId: string; from: string; outgoing: boolean }> {
  const ids = parseWamid(wamid);
  const m = ids ? await devices.message(hosted(number), ids.conversationId, ids.messageId) : null;
  if (!ids || !m) throw new BusinessApiError('invalid_parameter', `${field}: no such message in this number's chats`);
  return { ...ids, ...m };
}

/** The business message a non-text type becomes (checked against the protocol's bounds). */
function businessMessageOf(b: BusinessSendBody): BusinessMessage {
  let m: unknown;
  switch (b.type) {
    case 'location':
      m = { kind: 'location', ...b.location };
      break;
    case 'contacts':
      m = { kind: 'contacts', contacts: b.contacts };
      break;
    case 'interactive': {
      const i = b.interactive;
      const common = {
        ...(i.header ? { header: i.header.text } : {}),
        body: i.body.text,
        ...(i.footer ? { footer: i.footer.text } : {}),
      };
      m =
        i.type === 'button'
          ? { kind: 'buttons', ...common, buttons: i.action.buttons.map((x) => x.reply) }
          : { kind: 'list', ...common, button: i.action.button, sections: i.action.sections };
      break;
    }
    default: {
      const media = (
        b as unknown as Record<string, { link?: string; caption?: string; filename?: string } | undefined>
      )[b.type];
      m = {
        kind: 'media',
        mediaType: b.type,
        link: media?.link,
        ...(media?.caption ? { caption: media.caption } : {}),
        ...(media?.filename ? { filename: media.filename } : {}),
      };
    }
  }
  return businessMessageSchema.parse(m);
}

/** Mark a user's message read, or send a message; answers as the Cloud API does. */
export async function postMessages(
  ctx: ServerContext,
  number: BusinessNumberRow,
  raw: Record<string, unknown>,
): Promise<BusinessSendResponse | { success: true }> {
  const devices = ctx.business.devices;
  if ('status' in raw) {
    const body = businessMarkReadBody.parse(raw);
    if (!devices) throw new BusinessApiError('internal', 'this server process hosts no business devices');
    const m = await knownMessage(devices, number, body.message_id, 'message_id');
    if (m.outgoing)
      throw new BusinessApiError('invalid_parameter', 'message_id: only a message from the user can be marked read');
    await devices.markRead(hosted(number), m.conversationId, m.messageId);
    return { success: true };
  }
  // `type` defaults to text, as on the Cloud API.
  const body = businessSendBody.parse({ type: 'text', ...raw }) as BusinessSendBody;
  // A template is checked against the business's approved one and filled in (templates.ts).
  const filled = body.type === 'template' ? await templateMessage(ctx, number.businessId, body.template) : null;
  const template = filled ? businessMessageSchema.parse(filled.message) : null;
  // Media named by an upload id is sent as an end-to-end encrypted attachment (media.ts).
  const media = (body as unknown as Record<string, unknown>)[body.type] as
    { id?: string; caption?: string; filename?: string } | undefined;
  const uploaded =
    media && typeof media === 'object' && media.id !== undefined
      ? await uploadedMediaContent(ctx, number, body.type, { ...media, id: media.id })
      : null;
  let content: HostedContent;
  if (body.type === 'text') content = { kind: 'text', body: body.text.body };
  else if (template) content = { kind: 'business', message: template };
  else if (uploaded) content = uploaded;
  else if (body.type === 'reaction') content = { kind: 'reaction', messageId: '', emoji: body.reaction.emoji || null };
  else content = { kind: 'business', message: businessMessageOf(body) };
  if (!devices) throw new BusinessApiError('internal', 'this server process hosts no business devices');

  const to = `+${body.to.replace(/^\+/, '')}`;
  const answer = (id: string): BusinessSendResponse => ({
    messaging_product: 'whatsapp',
    contacts: [{ input: body.to, wa_id: waId(to) }],
    messages: [{ id }],
  });
  const account = await ctx.storage.accounts.getAccountByPhone(to);
  // The named messages must be in this number's chat with that user.
  let replyTo: string | undefined;
  const named = body.type === 'reaction' ? body.reaction.message_id : body.context?.message_id;
  if (named !== undefined) {
    const m = await knownMessage(
      devices,
      number,
      named,
      body.type === 'reaction' ? 'reaction.message_id' : 'context.message_id',
    );
    const peer = m.outgoing ? null : m.from;
    if (!account || (peer !== null && peer !== account.id))
      throw new BusinessApiError('invalid_parameter', 'the named message is not in the chat with this recipient');
    if (content.kind === 'reaction') content = { ...content, messageId: m.messageId };
    else replyTo = m.messageId;
  }
  // The rules (rules.ts): the window, then the number's and the pair's budgets. A template skips
  // the window, and a MARKETING one is refused to a user who stopped them.
  const recipient = account && account.phone !== number.phone ? account.id : null;
  await ctx.business.rules.admit(
    number,
    { accountId: recipient, waId: waId(to) },
    filled ? { template: true, category: filled.category } : { template: false },
  );
  if (!account || account.phone === number.phone) {
    const wamid = `wamid.${randomBytes(12).toString('base64url')}`;
    await ctx.business.webhooks.failed(number, wamid, to, 'the recipient is not a Parley account');
    return answer(wamid);
  }
  try {
    const sent = await devices.send(hosted(number), account.id, content, replyTo);
    return answer(wamidOf(sent.conversationId, sent.messageId));
  } catch (err) {
    // The named message exists but may not be answered (deleted for everyone, not stored yet).
    if (isParleyError(err) && ['message_not_found', 'message_action_refused', 'bad_request'].includes(err.code))
      throw new BusinessApiError('invalid_parameter', err.message);
    ctx.log.warn({ err }, 'business send failed');
    const wamid = `wamid.${randomBytes(12).toString('base64url')}`;
    await ctx.business.webhooks.failed(number, wamid, to, 'the message could not be encrypted to the recipient');
    return answer(wamid);
  }
}
