/**
 * The Business API (C10, docs/business.md): the shapes of the first routes, compatible with the
 * Cloud API that existing business client libraries speak, so they work against Parley by changing
 * only their base URL. Its errors are the Cloud API's numeric codes in the Cloud API's error body,
 * not Parley's catalogue: those libraries read `error.code`, so Parley answers in their terms.
 */
import { z } from 'zod';

export const BUSINESS_LIMITS = {
  /** Characters of a business name (operator-set, also the numbers' verified name by default). */
  nameChars: 100,
  /** Profile fields, as the Cloud API bounds them. */
  aboutChars: 139,
  addressChars: 256,
  descriptionChars: 512,
  emailChars: 128,
  websites: 2,
  websiteChars: 256,
  /** Characters of a webhook URL and of a verify token. */
  webhookUrlChars: 2_048,
  verifyTokenChars: 200,
  /** Business API requests per token per minute (every route together). */
  requestsPerMinute: 600,
  /** Failed bearer checks per address per minute before the address must wait. */
  failedAuthPerMinute: 30,
} as const;

/** The version segment of every Business API path: `v` then a Graph-style version (`v21.0`). */
export const businessVersionSchema = z.string().regex(/^v\d{1,2}\.\d$/);

/** A business or phone-number id: digits, as the Cloud API's ids are. */
export const businessIdSchema = z.string().regex(/^\d{1,20}$/);

/** E.164: `+`, then 8 to 15 digits, no leading zero. */
export const e164Schema = z.string().regex(/^\+[1-9]\d{7,14}$/);

/** Industries a profile may name (`vertical`), as the Cloud API lists them. */
export const BUSINESS_VERTICALS = [
  'UNDEFINED',
  'OTHER',
  'AUTO',
  'BEAUTY',
  'APPAREL',
  'EDU',
  'ENTERTAIN',
  'EVENT_PLAN',
  'FINANCE',
  'GROCERY',
  'GOVT',
  'HOTEL',
  'HEALTH',
  'NONPROFIT',
  'PROF_SERVICES',
  'RETAIL',
  'TRAVEL',
  'RESTAURANT',
  'NOT_A_BIZ',
] as const;

/** POST /{v}/{phone-number-id}/whatsapp_business_profile: the fields to change. */
export const businessProfileUpdateBody = z
  .object({
    messaging_product: z.literal('whatsapp'),
    about: z.string().min(1).max(BUSINESS_LIMITS.aboutChars).optional(),
    address: z.string().max(BUSINESS_LIMITS.addressChars).optional(),
    description: z.string().max(BUSINESS_LIMITS.descriptionChars).optional(),
    email: z.union([z.literal(''), z.string().max(BUSINESS_LIMITS.emailChars).email()]).optional(),
    websites: z
      .array(
        z
          .string()
          .max(BUSINESS_LIMITS.websiteChars)
          .regex(/^https?:\/\/[^\s]+$/),
      )
      .max(BUSINESS_LIMITS.websites)
      .optional(),
    vertical: z.enum(BUSINESS_VERTICALS).optional(),
    /** A handle of an uploaded picture; kept as the profile's photo id. */
    profile_picture_handle: z.string().min(1).max(512).optional(),
  })
  .strict();
export type BusinessProfileUpdate = z.infer<typeof businessProfileUpdateBody>;

/** Fields a business profile read may ask for (`?fields=`), in the order they are answered. */
export const BUSINESS_PROFILE_FIELDS = [
  'about',
  'address',
  'description',
  'email',
  'profile_picture_url',
  'websites',
  'vertical',
  'messaging_product',
] as const;

/** Fields a phone-number read may ask for (`?fields=`). */
export const PHONE_NUMBER_FIELDS = [
  'id',
  'display_phone_number',
  'verified_name',
  'code_verification_status',
  'quality_rating',
  'platform_type',
  'throughput',
  'name_status',
] as const;

/** The Business API errors Parley answers so far: Cloud API code, HTTP status, type and message. */
export const BUSINESS_ERRORS = {
  /** Missing, malformed, unknown or revoked access token. */
  invalid_token: {
    code: 190,
    status: 401,
    type: 'OAuthException',
    message: 'Invalid OAuth access token - Cannot parse access token',
  },
  /** A parameter or body field is missing, of the wrong type, or out of range. */
  invalid_parameter: { code: 100, status: 400, type: 'OAuthException', message: '(#100) Invalid parameter' },
  /** An object that does not exist or that the token's business does not own (the two look alike). */
  unknown_object: {
    code: 100,
    subcode: 33,
    status: 400,
    type: 'GraphMethodException',
    /** The routes name the method and the id in place of `{method}` and `{id}`. */
    message:
      "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation",
  },
  /** No such path in the Business API. */
  unknown_path: { code: 100, status: 400, type: 'OAuthException', message: 'Unknown path components' },
  /** Too many requests for this token (or failed bearer checks from this address). */
  rate_limited: {
    code: 80007,
    status: 429,
    type: 'OAuthException',
    message: '(#80007) Rate limit issues',
  },
  /**
   * The named template does not exist in that language, or it is not approved (still PENDING, or
   * REJECTED): docs/business.md, "Templates".
   */
  template_not_found: {
    code: 132001,
    status: 404,
    type: 'OAuthException',
    message: '(#132001) Template name does not exist in the translation',
  },
  /** A template message gives more or fewer parameters than the template has. */
  template_param_count: {
    code: 132000,
    status: 400,
    type: 'OAuthException',
    message: '(#132000) Number of parameters does not match the expected number of params',
  },
  /** The filled-in template is longer than its part allows (header 60, body 1,024 characters). */
  template_text_too_long: {
    code: 132005,
    status: 400,
    type: 'OAuthException',
    message: '(#132005) Translated text too long',
  },
  /** A body parameter holds a newline or tab, or more than four spaces in a row. */
  template_format_policy: {
    code: 132007,
    status: 400,
    type: 'OAuthException',
    message: '(#132007) Template Format Character Policy Violated',
  },
  /** A parameter's type does not fit the template (an image for a text header, a missing button). */
  template_param_format: {
    code: 132012,
    status: 400,
    type: 'OAuthException',
    message: '(#132012) Parameter format does not match format in the created template',
  },
  /** The template is PAUSED by review: approve it again to send it. */
  template_paused: { code: 132015, status: 400, type: 'OAuthException', message: '(#132015) Template is Paused' },
  /** The template is DISABLED by review, for good. */
  template_disabled: { code: 132016, status: 400, type: 'OAuthException', message: '(#132016) Template is Disabled' },
  /** A template of that name already exists in that language. */
  template_exists: {
    code: 100,
    subcode: 2388024,
    status: 400,
    type: 'OAuthException',
    message: 'Content in this language already exists',
  },
  /** A parameter the request needs is missing. */
  required_parameter_missing: {
    code: 131008,
    status: 400,
    type: 'OAuthException',
    message: '(#131008) Required parameter is missing',
  },
  /** A parameter's value is not valid. */
  parameter_value_invalid: {
    code: 131009,
    status: 400,
    type: 'OAuthException',
    message: '(#131009) Parameter value is not valid',
  },
  /**
   * Media named by an upload id, but uploads are not offered yet: send media by `link`.
   */
  media_not_found: {
    code: 131053,
    status: 400,
    type: 'OAuthException',
    message: '(#131053) Media upload error',
  },
  /**
   * Never an HTTP answer: a `failed` status webhook carries it when the recipient is no Parley
   * account or the message could not be encrypted to its devices.
   */
  undeliverable: { code: 131026, status: 400, type: 'OAuthException', message: 'Message Undeliverable' },
  /**
   * A free-form message (anything but a template) to a user who has not written to this number in
   * the last 24 hours: the customer-service window is closed, only a template may open it.
   */
  outside_window: {
    code: 131047,
    status: 400,
    type: 'OAuthException',
    message:
      '(#131047) Re-engagement message: more than 24 hours have passed since the recipient last replied to the sender number',
  },
  /** A MARKETING template to a user who stopped this number's promotional messages from the chat. */
  marketing_opted_out: {
    code: 131050,
    status: 400,
    type: 'OAuthException',
    message: '(#131050) The recipient has chosen to stop receiving marketing messages from your business',
  },
  /** The number's send budget (PARLEY_BUSINESS_THROUGHPUT_PER_SECOND) is spent for now. */
  throughput_exceeded: {
    code: 130429,
    status: 429,
    type: 'OAuthException',
    message: '(#130429) Rate limit hit: the message throughput of this phone number has been reached',
  },
  /** Too many messages to one user in a short time (the business–user pair rate limit). */
  pair_rate_limited: {
    code: 131056,
    status: 429,
    type: 'OAuthException',
    message: '(#131056) (Business Account, Consumer Account) pair rate limit hit',
  },
  /**
   * The number's daily limit of distinct users reached outside the customer-service window (its
   * messaging tier: 250, 2,000, 10,000, 100,000 or unlimited a rolling day) is spent.
   */
  daily_users_exceeded: {
    code: 131048,
    status: 429,
    type: 'OAuthException',
    message: '(#131048) Spam rate limit hit: this phone number has reached its daily limit of users outside the window',
  },
  /** Something failed on the server; safe to retry. */
  internal: { code: 1, status: 500, type: 'OAuthException', message: 'An unknown error occurred' },
} as const satisfies Record<string, { code: number; subcode?: number; status: number; type: string; message: string }>;
export type BusinessErrorName = keyof typeof BUSINESS_ERRORS;

/** The error body of every Business API error. */
export const businessErrorBodySchema = z.object({
  error: z.object({
    message: z.string(),
    type: z.string(),
    code: z.number().int(),
    error_data: z.object({ messaging_product: z.literal('whatsapp'), details: z.string() }),
    error_subcode: z.number().int().optional(),
    fbtrace_id: z.string(),
  }),
});
export type BusinessErrorBody = z.infer<typeof businessErrorBodySchema>;
