/**
 * Message templates of the Business API (C10, docs/business.md "Templates"): the bodies of the
 * business-level `message_templates` edge (create, list, delete), the review states, the
 * `message_template_status_update` webhook value, and the parameters a `template` message fills
 * in, all in the Cloud API's shapes. Templates are what a business may send outside a chat's
 * customer-service window, so each one is reviewed by the operator before it can be sent.
 */
import { z } from 'zod';

export const TEMPLATE_LIMITS = {
  nameChars: 512,
  headerChars: 60,
  bodyChars: 1024,
  footerChars: 60,
  buttons: 10,
  buttonTextChars: 25,
  urlChars: 2000,
  /** Characters of one filled-in text parameter. */
  parameterChars: 1024,
  /** Parameters in one component: `{{1}}` … `{{n}}`. */
  parameters: 100,
  reasonChars: 512,
  /** Templates a list answers at most. */
  listLimit: 1000,
} as const;
const T = TEMPLATE_LIMITS;

export const TEMPLATE_CATEGORIES = ['MARKETING', 'UTILITY', 'AUTHENTICATION'] as const;
export type TemplateCategory = (typeof TEMPLATE_CATEGORIES)[number];

/**
 * Review states: a new template is PENDING until the operator approves or rejects it; an approved
 * one may be PAUSED (and approved again) or DISABLED for good. Only APPROVED templates are sent.
 */
export const TEMPLATE_STATUSES = ['PENDING', 'APPROVED', 'REJECTED', 'PAUSED', 'DISABLED'] as const;
export type TemplateStatus = (typeof TEMPLATE_STATUSES)[number];

/** Which review step may follow which (the operator's `review` is refused otherwise). */
export const TEMPLATE_TRANSITIONS: Record<TemplateStatus, readonly TemplateStatus[]> = {
  PENDING: ['APPROVED', 'REJECTED'],
  APPROVED: ['PAUSED', 'DISABLED', 'REJECTED'],
  REJECTED: ['APPROVED'],
  PAUSED: ['APPROVED', 'DISABLED'],
  DISABLED: [],
};

/** Why a template was rejected, as the Cloud API names the reasons. */
export const TEMPLATE_REJECTION_REASONS = [
  'ABUSIVE_CONTENT',
  'INCORRECT_CATEGORY',
  'INVALID_FORMAT',
  'SCAM',
  'NONE',
] as const;

/** Template names: lowercase letters, digits and underscores. */
export const templateNameSchema = z
  .string()
  .min(1)
  .max(T.nameChars)
  .regex(/^[a-z0-9_]+$/, 'lowercase letters, digits and underscores');
/** A language code as templates use them: `en`, `en_US`, `pt_BR`, `fil`. */
export const templateLanguageSchema = z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a language code like en_US');

/** The `{{n}}` parameters of a text, in order of appearance. */
export function templateParameters(text: string): number[] {
  return [...text.matchAll(/\{\{(\d{1,3})\}\}/g)].map((m) => Number(m[1]));
}

/** True when a text's parameters are exactly `{{1}}` … `{{n}}` (each once, any order). */
function sequential(text: string): boolean {
  const ps = templateParameters(text).sort((a, b) => a - b);
  return ps.every((p, i) => p === i + 1);
}

const text = (max: number) => z.string().min(1).max(max);

const headerComponent = z
  .object({
    type: z.literal('HEADER'),
    format: z.enum(['TEXT', 'IMAGE', 'VIDEO', 'DOCUMENT', 'LOCATION']),
    text: text(T.headerChars).optional(),
    example: z
      .object({
        header_text: z.array(text(T.parameterChars)).max(1).optional(),
        header_handle: z.array(text(2048)).max(1).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((h) => (h.format === 'TEXT') === (h.text !== undefined), 'a TEXT header has text, other formats none')
  .refine((h) => h.text === undefined || templateParameters(h.text).length <= 1, 'a header has at most one parameter')
  .refine((h) => h.text === undefined || sequential(h.text), 'parameters must be {{1}} … {{n}}')
  .refine(
    (h) => h.text === undefined || templateParameters(h.text).length === (h.example?.header_text?.length ?? 0),
    'example.header_text must give one example per header parameter',
  );

const bodyComponent = z
  .object({
    type: z.literal('BODY'),
    text: text(T.bodyChars),
    example: z
      .object({ body_text: z.array(z.array(text(T.parameterChars)).max(T.parameters)).length(1) })
      .strict()
      .optional(),
  })
  .strict()
  .refine((b) => templateParameters(b.text).length <= T.parameters, `at most ${T.parameters} parameters`)
  .refine((b) => sequential(b.text), 'parameters must be {{1}} … {{n}}')
  .refine(
    (b) => templateParameters(b.text).length === (b.example?.body_text[0]?.length ?? 0),
    'example.body_text must give one example per body parameter',
  );

const footerComponent = z.object({ type: z.literal('FOOTER'), text: text(T.footerChars) }).strict();

const templateButton = z.discriminatedUnion('type', [
  z.object({ type: z.literal('QUICK_REPLY'), text: text(T.buttonTextChars) }).strict(),
  z
    .object({
      type: z.literal('URL'),
      text: text(T.buttonTextChars),
      url: z
        .string()
        .max(T.urlChars)
        .regex(/^https?:\/\/\S+$/, 'must be an http(s) URL'),
      example: z.array(text(T.urlChars)).max(1).optional(),
    })
    .strict()
    .refine((b) => templateParameters(b.url).length <= 1, 'a URL button has at most one parameter')
    .refine((b) => templateParameters(b.url).length === 0 || /\{\{1\}\}$/.test(b.url), 'the parameter ends the URL')
    .refine(
      (b) => templateParameters(b.url).length === (b.example?.length ?? 0),
      'a URL with a parameter needs one example',
    ),
  z
    .object({
      type: z.literal('PHONE_NUMBER'),
      text: text(T.buttonTextChars),
      phone_number: z.string().regex(/^\+?[1-9]\d{7,14}$/, 'a phone number in international form'),
    })
    .strict(),
  z.object({ type: z.literal('COPY_CODE'), example: text(15) }).strict(),
]);

const buttonsComponent = z
  .object({ type: z.literal('BUTTONS'), buttons: z.array(templateButton).min(1).max(T.buttons) })
  .strict();

export const templateComponentSchema = z.union([headerComponent, bodyComponent, footerComponent, buttonsComponent]);
export type TemplateComponent = z.infer<typeof templateComponentSchema>;

/** `POST /{v}/{business-id}/message_templates`. */
export const templateCreateBody = z
  .object({
    name: templateNameSchema,
    language: templateLanguageSchema,
    category: z.enum(TEMPLATE_CATEGORIES),
    allow_category_change: z.boolean().optional(),
    components: z
      .array(templateComponentSchema)
      .min(1)
      .max(4)
      .refine((cs) => cs.filter((c) => c.type === 'BODY').length === 1, 'exactly one BODY component')
      .refine((cs) => new Set(cs.map((c) => c.type)).size === cs.length, 'each component type at most once'),
  })
  .strict();
export type TemplateCreateBody = z.infer<typeof templateCreateBody>;

/** `GET /{v}/{business-id}/message_templates` query. */
export const templateListQuery = z
  .object({
    name: z.string().min(1).max(T.nameChars).optional(),
    status: z.enum(TEMPLATE_STATUSES).optional(),
    category: z.enum(TEMPLATE_CATEGORIES).optional(),
    language: templateLanguageSchema.optional(),
    limit: z
      .string()
      .regex(/^\d{1,4}$/)
      .transform(Number)
      .pipe(z.number().int().min(1).max(T.listLimit))
      .optional(),
    after: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
    fields: z.string().max(1000).optional(),
  })
  .strict();

/** `DELETE /{v}/{business-id}/message_templates?name=…[&hsm_id=…]`: every language, or one template. */
export const templateDeleteQuery = z
  .object({
    name: templateNameSchema,
    hsm_id: z
      .string()
      .regex(/^\d{1,20}$/)
      .optional(),
  })
  .strict();

/** A template as the list answers it. */
export interface TemplateView {
  name: string;
  components: TemplateComponent[];
  language: string;
  status: TemplateStatus;
  category: TemplateCategory;
  id: string;
  rejected_reason?: string;
}

/** The `value` of a `message_template_status_update` webhook change. */
export interface TemplateStatusWebhookValue {
  event: TemplateStatus;
  message_template_id: number;
  message_template_name: string;
  message_template_language: string;
  reason: string | null;
}

// ---------------------------------------------------------------------------------------------
// Sending: `type: "template"` with components that fill in the parameters.

const fallback = z.string().min(1).max(T.parameterChars);

/** One parameter value, typed as the Cloud API types them. */
export const templateParameterSchema = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('text'),
      text: z.string().min(1).max(T.parameterChars),
      parameter_name: z.string().max(64).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('currency'),
      currency: z
        .object({
          fallback_value: fallback,
          code: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code'),
          amount_1000: z.number().int().safe(),
        })
        .strict(),
    })
    .strict(),
  z
    .object({
      type: z.literal('date_time'),
      date_time: z.object({ fallback_value: fallback }).passthrough(),
    })
    .strict(),
  ...(['image', 'video', 'document'] as const).map((t) =>
    z
      .object({
        type: z.literal(t),
        [t]: z
          .object({
            id: z.string().min(1).max(128).optional(),
            link: z
              .string()
              .max(2048)
              .regex(/^https?:\/\/\S+$/)
              .optional(),
            caption: z.string().min(1).max(1024).optional(),
            filename: z.string().min(1).max(256).optional(),
          })
          .strict()
          .refine((m) => (m.id === undefined) !== (m.link === undefined), 'exactly one of id and link'),
      })
      .strict(),
  ),
  z
    .object({
      type: z.literal('location'),
      location: z
        .object({
          latitude: z.union([z.number(), z.string()]),
          longitude: z.union([z.number(), z.string()]),
          name: z.string().max(1000).optional(),
          address: z.string().max(1000).optional(),
        })
        .strict(),
    })
    .strict(),
  z.object({ type: z.literal('payload'), payload: z.string().min(1).max(256) }).strict(),
  z.object({ type: z.literal('coupon_code'), coupon_code: z.string().min(1).max(15) }).strict(),
] as unknown as [z.ZodObject<z.ZodRawShape>, ...z.ZodObject<z.ZodRawShape>[]]);

/** A filled-in parameter (the media types share one shape). */
export type TemplateParameter =
  | { type: 'text'; text: string }
  | { type: 'currency'; currency: { fallback_value: string; code: string; amount_1000: number } }
  | { type: 'date_time'; date_time: { fallback_value: string } }
  | ({ type: 'image' | 'video' | 'document' } & {
      [K in 'image' | 'video' | 'document']?: { id?: string; link?: string; caption?: string; filename?: string };
    })
  | {
      type: 'location';
      location: { latitude: number | string; longitude: number | string; name?: string; address?: string };
    }
  | { type: 'payload'; payload: string }
  | { type: 'coupon_code'; coupon_code: string };

/** One component of a template message: which part it fills, and (for a button) which button. */
export const templateSendComponent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('header'), parameters: z.array(templateParameterSchema).max(T.parameters) }).strict(),
  z.object({ type: z.literal('body'), parameters: z.array(templateParameterSchema).max(T.parameters) }).strict(),
  z
    .object({
      type: z.literal('button'),
      sub_type: z.enum(['quick_reply', 'url', 'copy_code']),
      /** Libraries send the button's position as a number or a string. */
      index: z
        .union([z.number().int(), z.string().regex(/^\d{1,2}$/)])
        .transform(Number)
        .pipe(
          z
            .number()
            .int()
            .min(0)
            .max(T.buttons - 1),
        ),
      parameters: z.array(templateParameterSchema).max(1),
    })
    .strict(),
]);
export type TemplateSendComponent = z.infer<typeof templateSendComponent>;

/** The `template` object of a send body. */
export const templateSendObject = z
  .object({
    name: z.string().min(1).max(T.nameChars),
    language: z.object({ code: z.string().min(1).max(16), policy: z.literal('deterministic').optional() }).strict(),
    components: z
      .array(templateSendComponent)
      .max(T.buttons + 2)
      .optional(),
  })
  .strict();
