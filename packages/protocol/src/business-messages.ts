/**
 * Sending through the Business API and the webhooks that report back (C10, docs/business.md): the
 * body of `POST /{v}/{phone-number-id}/messages` (a message of one type, or a read mark), its answer,
 * and the webhook envelope, all in the Cloud API's shapes so its client libraries and webhook
 * receivers work unchanged.
 */
import { z } from 'zod';
import { BUSINESS_CONTENT_LIMITS as L, businessContactCard } from './business-content.ts';
import { templateSendObject, type TemplateStatusWebhookValue } from './business-templates.ts';

const short = (max: number) => z.string().min(1).max(max);

/** A coordinate: libraries send numbers, some send numeric strings. */
const coordinate = (limit: number) =>
  z
    .union([z.number(), z.string().regex(/^-?\d{1,3}(\.\d{1,15})?$/)])
    .transform(Number)
    .pipe(z.number().min(-limit).max(limit));

/** Media named by a link, or by the id of an upload (uploads are not offered yet: see docs/business.md). */
const mediaObject = z
  .object({
    id: short(128).optional(),
    link: z
      .string()
      .max(L.linkChars)
      .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL')
      .optional(),
    caption: short(L.captionChars).optional(),
    filename: short(256).optional(),
  })
  .strict()
  .refine((m) => (m.id === undefined) !== (m.link === undefined), 'exactly one of id and link');

const replyButton = z
  .object({
    type: z.literal('reply'),
    reply: z.object({ id: short(L.replyIdChars), title: short(L.buttonTitleChars) }).strict(),
  })
  .strict();

const textHeader = z.object({ type: z.literal('text'), text: short(L.headerChars) }).strict();

const interactiveObject = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('button'),
      header: textHeader.optional(),
      body: z.object({ text: short(L.bodyChars) }).strict(),
      footer: z
        .object({ text: short(L.footerChars) })
        .strict()
        .optional(),
      action: z.object({ buttons: z.array(replyButton).min(1).max(L.buttons) }).strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('list'),
      header: textHeader.optional(),
      body: z.object({ text: short(L.bodyChars) }).strict(),
      footer: z
        .object({ text: short(L.footerChars) })
        .strict()
        .optional(),
      action: z
        .object({
          button: short(L.listButtonChars),
          sections: z
            .array(
              z
                .object({
                  title: short(L.sectionTitleChars).optional(),
                  rows: z
                    .array(
                      z
                        .object({
                          id: short(L.replyIdChars),
                          title: short(L.rowTitleChars),
                          description: short(L.rowDescriptionChars).optional(),
                        })
                        .strict(),
                    )
                    .min(1)
                    .max(L.rows),
                })
                .strict(),
            )
            .min(1)
            .max(L.sections),
        })
        .strict(),
    })
    .strict(),
]);

/** Templates are checked against the business's approved template (business-templates.ts). */
const templateObject = templateSendObject;

/** What every message body carries. */
const messageBase = {
  messaging_product: z.literal('whatsapp'),
  recipient_type: z.literal('individual').optional(),
  /** The user's number: digits, with or without `+` (the Cloud API's `wa_id` form). */
  to: z.string().regex(/^\+?[1-9]\d{7,14}$/, 'must be a phone number in international form'),
  context: z
    .object({ message_id: short(256) })
    .strict()
    .optional(),
  biz_opaque_callback_data: z.string().max(512).optional(),
};

const mediaTypes = ['image', 'audio', 'video', 'document', 'sticker'] as const;

/** `POST /{v}/{phone-number-id}/messages` with a message: `type` names the object that carries it. */
export const businessSendBody = z.discriminatedUnion('type', [
  z
    .object({
      ...messageBase,
      type: z.literal('text'),
      text: z.object({ body: short(4096), preview_url: z.boolean().optional() }).strict(),
    })
    .strict(),
  z
    .object({
      ...messageBase,
      type: z.literal('reaction'),
      reaction: z.object({ message_id: short(256), emoji: z.string().max(32) }).strict(),
    })
    .strict(),
  z
    .object({
      ...messageBase,
      type: z.literal('location'),
      location: z
        .object({
          latitude: coordinate(90),
          longitude: coordinate(180),
          name: short(1000).optional(),
          address: short(1000).optional(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      ...messageBase,
      type: z.literal('contacts'),
      contacts: z.array(businessContactCard).min(1).max(L.contacts),
    })
    .strict(),
  z.object({ ...messageBase, type: z.literal('interactive'), interactive: interactiveObject }).strict(),
  z.object({ ...messageBase, type: z.literal('template'), template: templateObject }).strict(),
  ...mediaTypes.map((t) => z.object({ ...messageBase, type: z.literal(t), [t]: mediaObject }).strict()),
] as unknown as [z.ZodObject<z.ZodRawShape>, ...z.ZodObject<z.ZodRawShape>[]]);

/** The typed view of a send body (the media types share one shape). */
export type BusinessSendBody =
  | {
      messaging_product: 'whatsapp';
      to: string;
      context?: { message_id: string };
      type: 'text';
      text: { body: string; preview_url?: boolean };
    }
  | { to: string; context?: { message_id: string }; type: 'reaction'; reaction: { message_id: string; emoji: string } }
  | {
      to: string;
      context?: { message_id: string };
      type: 'location';
      location: { latitude: number; longitude: number; name?: string; address?: string };
    }
  | { to: string; context?: { message_id: string }; type: 'contacts'; contacts: z.infer<typeof businessContactCard>[] }
  | {
      to: string;
      context?: { message_id: string };
      type: 'interactive';
      interactive: z.infer<typeof interactiveObject>;
    }
  | { to: string; context?: { message_id: string }; type: 'template'; template: z.infer<typeof templateObject> }
  | ({ to: string; context?: { message_id: string }; type: (typeof mediaTypes)[number] } & {
      [K in (typeof mediaTypes)[number]]?: z.infer<typeof mediaObject>;
    });

/** `POST /{v}/{phone-number-id}/messages` marking a user's message read. */
export const businessMarkReadBody = z
  .object({
    messaging_product: z.literal('whatsapp'),
    status: z.literal('read'),
    message_id: short(256),
  })
  .strict();

/** The answer to a send: exactly the Cloud API's. */
export const businessSendResponse = z.object({
  messaging_product: z.literal('whatsapp'),
  contacts: z.array(z.object({ input: z.string(), wa_id: z.string() })),
  messages: z.array(z.object({ id: z.string() })),
});
export type BusinessSendResponse = z.infer<typeof businessSendResponse>;

/** Delivery states a webhook reports for a business's outgoing message. */
export const WEBHOOK_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;

/** One change of a webhook POST (`entry[].changes[]`). */
export interface BusinessWebhookValue {
  messaging_product: 'whatsapp';
  metadata: { display_phone_number: string; phone_number_id: string };
  contacts?: { profile: { name: string }; wa_id: string }[];
  messages?: Record<string, unknown>[];
  statuses?: Record<string, unknown>[];
  errors?: { code: number; title: string; message: string; error_data: { details: string } }[];
  /** A user stopped or resumed the number's marketing messages (field `user_preferences`). */
  user_preferences?: {
    wa_id: string;
    detail: string;
    category: 'marketing_messages';
    value: 'stop' | 'resume';
    timestamp: number;
  }[];
}

/** The body of every webhook POST. */
export interface BusinessWebhookEnvelope {
  object: 'whatsapp_business_account';
  entry: { id: string; changes: { field: 'messages' | 'user_preferences'; value: BusinessWebhookValue }[] }[];
}

/** The body of a template-review webhook POST (`field: "message_template_status_update"`). */
export interface TemplateStatusWebhookEnvelope {
  object: 'whatsapp_business_account';
  entry: {
    id: string;
    time: number;
    changes: { field: 'message_template_status_update'; value: TemplateStatusWebhookValue }[];
  }[];
}

/**
 * The exact bytes of a webhook body: JSON with every non-ASCII character written as a lowercase
 * `\uXXXX` escape, so a receiver that verifies the signature over its own re-encoding of the body
 * and one that verifies the raw bytes compute the same HMAC.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}
