/**
 * Business messages inside MLS (C10, docs/business.md): what a business device sends a user that a
 * plain text or reaction cannot carry (a location, contact cards, reply buttons and lists, media by
 * link), and what a user sends back to a business (a tapped button or list row, a location). Like
 * every content it travels end-to-end encrypted: the server relays ciphertext. `text` is a readable
 * rendering written by the sender, so a client that shows only text still shows something true.
 */
import { z } from 'zod';
import { messageExtras } from './message-actions.ts';

/** Bounds of the interactive messages, as the Cloud API sets them. */
export const BUSINESS_CONTENT_LIMITS = {
  bodyChars: 1024,
  headerChars: 60,
  footerChars: 60,
  buttons: 3,
  buttonTitleChars: 20,
  replyIdChars: 256,
  listButtonChars: 20,
  sections: 10,
  rows: 10,
  rowTitleChars: 24,
  rowDescriptionChars: 72,
  sectionTitleChars: 24,
  contacts: 10,
  captionChars: 1024,
  linkChars: 2048,
  /** The readable rendering. */
  textChars: 8192,
} as const;

const L = BUSINESS_CONTENT_LIMITS;
const short = (max: number) => z.string().min(1).max(max);

/** A latitude/longitude pair with an optional place name and address. */
export const businessLocation = z.object({
  kind: z.literal('location'),
  latitude: z.number().min(-90).max(90),
  longitude: z.number().min(-180).max(180),
  name: short(1000).optional(),
  address: short(1000).optional(),
});

/** One contact card (a subset of vCard fields, as the Cloud API's `contacts` object has them). */
export const businessContactCard = z.object({
  name: z.object({ formatted_name: short(512), first_name: short(256).optional(), last_name: short(256).optional() }),
  phones: z
    .array(z.object({ phone: short(64), type: short(32).optional(), wa_id: short(32).optional() }))
    .max(10)
    .optional(),
  emails: z
    .array(z.object({ email: short(256), type: short(32).optional() }))
    .max(10)
    .optional(),
  org: z.object({ company: short(256).optional(), title: short(256).optional() }).optional(),
  urls: z
    .array(z.object({ url: short(1024), type: short(32).optional() }))
    .max(10)
    .optional(),
});
export type BusinessContactCard = z.infer<typeof businessContactCard>;

export const businessContacts = z.object({
  kind: z.literal('contacts'),
  contacts: z.array(businessContactCard).min(1).max(L.contacts),
});

/** Reply buttons (at most three) under a body text. */
export const businessButtons = z.object({
  kind: z.literal('buttons'),
  header: short(L.headerChars).optional(),
  body: short(L.bodyChars),
  footer: short(L.footerChars).optional(),
  buttons: z
    .array(z.object({ id: short(L.replyIdChars), title: short(L.buttonTitleChars) }))
    .min(1)
    .max(L.buttons),
});

/** A list: a button label opening sections of rows (at most ten rows in all). */
export const businessList = z.object({
  kind: z.literal('list'),
  header: short(L.headerChars).optional(),
  body: short(L.bodyChars),
  footer: short(L.footerChars).optional(),
  button: short(L.listButtonChars),
  sections: z
    .array(
      z.object({
        title: short(L.sectionTitleChars).optional(),
        rows: z
          .array(
            z.object({
              id: short(L.replyIdChars),
              title: short(L.rowTitleChars),
              description: short(L.rowDescriptionChars).optional(),
            }),
          )
          .min(1)
          .max(L.rows),
      }),
    )
    .min(1)
    .max(L.sections)
    .refine((s) => s.reduce((n, x) => n + x.rows.length, 0) <= L.rows, `at most ${L.rows} rows in all`),
});

/**
 * Media the business named by a link (`https://…`): the receiving device shows the link and the
 * caption; Parley does not fetch it for the user (no request leaves the device unasked).
 */
export const businessMedia = z.object({
  kind: z.literal('media'),
  mediaType: z.enum(['image', 'audio', 'video', 'document', 'sticker']),
  link: z
    .string()
    .max(L.linkChars)
    .regex(/^https?:\/\/\S+$/),
  caption: short(L.captionChars).optional(),
  filename: short(256).optional(),
});

/** A user's tap on a reply button or a list row of a business message (`messageId`). */
export const businessInteractiveReply = z.object({
  kind: z.literal('interactive-reply'),
  replyType: z.enum(['button_reply', 'list_reply']),
  messageId: z.string().min(1).max(128),
  id: short(L.replyIdChars),
  title: short(L.rowTitleChars > L.buttonTitleChars ? L.rowTitleChars : L.buttonTitleChars),
  description: short(L.rowDescriptionChars).optional(),
});

/**
 * A user's choice about a business number's promotional (MARKETING template) messages, sent inside
 * the chat like any message: `stop` ends them, `resume` allows them again. Only the business's
 * device reads it; in the hosted mode that device tells the platform, which then refuses the
 * number's MARKETING templates to this user (docs/business.md "Opting out").
 */
export const businessMarketingPreference = z.object({
  kind: z.literal('marketing-preference'),
  value: z.enum(['stop', 'resume']),
});

/**
 * A template message with its parameters filled in: what the user's device shows (a header text
 * or media link, the body, the footer, the buttons). A quick-reply tap comes back as an
 * `interactive-reply` of type `button_reply` whose `id` is the button's payload.
 */
export const businessTemplate = z.object({
  kind: z.literal('template'),
  name: short(512),
  language: short(16),
  header: z
    .discriminatedUnion('format', [
      z.object({ format: z.literal('text'), text: short(1024 + L.headerChars) }),
      z.object({
        format: z.enum(['image', 'video', 'document']),
        /** A link the business gave, or the platform's download path of an uploaded media id. */
        link: z.string().min(1).max(L.linkChars),
        filename: short(256).optional(),
      }),
      z.object({
        format: z.literal('location'),
        latitude: z.number().min(-90).max(90),
        longitude: z.number().min(-180).max(180),
        name: short(1000).optional(),
        address: short(1000).optional(),
      }),
    ])
    .optional(),
  body: short(L.textChars),
  footer: short(L.footerChars).optional(),
  buttons: z
    .array(
      z.discriminatedUnion('type', [
        z.object({ type: z.literal('quick_reply'), text: short(25), payload: short(256) }),
        z.object({ type: z.literal('url'), text: short(25), url: short(L.linkChars + 1024) }),
        z.object({ type: z.literal('phone_number'), text: short(25), phone: short(32) }),
        z.object({ type: z.literal('copy_code'), code: short(15) }),
      ]),
    )
    .max(10)
    .optional(),
});
export type BusinessTemplateMessage = z.infer<typeof businessTemplate>;

export const businessMessageSchema = z.discriminatedUnion('kind', [
  businessTemplate,
  businessMarketingPreference,
  businessLocation,
  businessContacts,
  businessButtons,
  businessList,
  businessMedia,
  businessInteractiveReply,
]);
export type BusinessMessage = z.infer<typeof businessMessageSchema>;

/** The content: the structured message, its readable rendering, and the usual reply mark. */
export const businessContent = z.object({
  type: z.literal('business'),
  message: businessMessageSchema,
  text: z.string().min(1).max(L.textChars),
  ...messageExtras,
});
export type BusinessContent = z.infer<typeof businessContent>;

/** The readable rendering of a business message (what a text-only client shows). */
export function businessMessageText(m: BusinessMessage): string {
  const lines: string[] = [];
  switch (m.kind) {
    case 'location':
      lines.push(`📍 ${m.name ?? 'Location'}`);
      if (m.address) lines.push(m.address);
      lines.push(`${m.latitude}, ${m.longitude}`);
      break;
    case 'contacts':
      for (const c of m.contacts)
        lines.push(`👤 ${[c.name.formatted_name, ...(c.phones ?? []).map((p) => p.phone)].join(' · ')}`);
      break;
    case 'buttons':
      if (m.header) lines.push(m.header);
      lines.push(m.body);
      if (m.footer) lines.push(m.footer);
      lines.push(m.buttons.map((b) => `[${b.title}]`).join(' '));
      break;
    case 'list':
      if (m.header) lines.push(m.header);
      lines.push(m.body);
      if (m.footer) lines.push(m.footer);
      for (const s of m.sections)
        for (const r of s.rows) lines.push(`• ${r.title}${r.description ? ` (${r.description})` : ''}`);
      break;
    case 'media':
      lines.push(`${m.mediaType === 'document' ? '📄' : '🖼'} ${m.filename ?? m.mediaType}: ${m.link}`);
      if (m.caption) lines.push(m.caption);
      break;
    case 'interactive-reply':
      lines.push(m.title);
      break;
    case 'marketing-preference':
      lines.push(m.value === 'stop' ? 'Stop promotional messages' : 'Resume promotional messages');
      break;
    case 'template':
      if (m.header?.format === 'text') lines.push(m.header.text);
      else if (m.header?.format === 'location') lines.push(`📍 ${m.header.name ?? 'Location'}`);
      else if (m.header)
        lines.push(`${m.header.format === 'document' ? '📄' : '🖼'} ${m.header.filename ?? m.header.format}`);
      lines.push(m.body);
      if (m.footer) lines.push(m.footer);
      if (m.buttons?.length)
        lines.push(
          m.buttons
            .map((b) =>
              b.type === 'url'
                ? `[${b.text}: ${b.url}]`
                : b.type === 'phone_number'
                  ? `[${b.text}: ${b.phone}]`
                  : b.type === 'copy_code'
                    ? `[${b.code}]`
                    : `[${b.text}]`,
            )
            .join(' '),
        );
      break;
  }
  return lines.join('\n').slice(0, L.textChars);
}
