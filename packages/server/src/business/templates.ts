/**
 * Message templates (C10, docs/business.md "Templates"): the business-level `message_templates`
 * edge (create, list, delete), the operator's review (PENDING → APPROVED / REJECTED, PAUSED,
 * DISABLED) with its audit entry and `message_template_status_update` webhook, and the check and
 * rendering of a `template` message against the approved template. A template is created PENDING,
 * unless the automatic check finds it obviously malformed, in which case it is REJECTED at once.
 */
import {
  asciiJson,
  templateCreateBody,
  templateDeleteQuery,
  templateListQuery,
  templateParameters,
  TEMPLATE_LIMITS,
  TEMPLATE_TRANSITIONS,
  type BusinessTemplateMessage,
  type TemplateCategory,
  type TemplateComponent,
  type TemplateParameter,
  type TemplateSendComponent,
  type TemplateStatus,
  type TemplateStatusWebhookEnvelope,
  type TemplateView,
} from '@parley/protocol';
import { z } from 'zod';
import type { ServerContext } from '../context.ts';
import type { Storage, TemplateRow } from '../storage/types.ts';
import type { BusinessTokenRow } from '../storage/business.ts';
import { CLI_ACTOR, recordAudit } from '../admin/service.ts';
import { BusinessApiError } from './errors.ts';
import { numericId } from './service.ts';
import { jobId } from './webhooks.ts';

/** The Cloud API's answer for a template row. */
export function templateView(r: TemplateRow): TemplateView {
  return {
    name: r.name,
    components: JSON.parse(r.components) as TemplateComponent[],
    language: r.language,
    status: r.status as TemplateStatus,
    category: r.category as TemplateView['category'],
    id: r.id,
    ...(r.status === 'REJECTED' ? { rejected_reason: r.reason ?? 'NONE' } : {}),
  };
}

/**
 * The automatic check: why a template is obviously malformed (the review would reject it), or
 * null. A body may not start or end with a parameter, nor put two parameters side by side, since
 * such a template lets the sender write the whole message.
 */
export function automaticRejection(body: z.infer<typeof templateCreateBody>): string | null {
  for (const c of body.components) {
    if (c.type !== 'BODY' && !(c.type === 'HEADER' && c.text)) continue;
    const text = (c.type === 'BODY' ? c.text : c.text!).trim();
    if (c.type === 'BODY' && (/^\{\{\d+\}\}/.test(text) || /\{\{\d+\}\}$/.test(text)))
      return 'INVALID_FORMAT: the body starts or ends with a parameter';
    if (/\{\{\d+\}\}\s*\{\{\d+\}\}/.test(text)) return 'INVALID_FORMAT: two parameters side by side';
    if (c.type === 'BODY' && templateParameters(text).length * 3 > text.split(/\s+/).length)
      return 'INVALID_FORMAT: too many parameters for the length of the text';
  }
  return null;
}

/** The `value` webhook POST for a template's new state, queued on the durable webhook queue. */
export async function queueTemplateStatus(storage: Storage, now: number, t: TemplateRow): Promise<void> {
  const business = await storage.business.getBusiness(t.businessId);
  if (!business?.webhookUrl) return;
  const envelope: TemplateStatusWebhookEnvelope = {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: t.businessId,
        time: Math.floor(now / 1000),
        changes: [
          {
            field: 'message_template_status_update',
            value: {
              event: t.status as TemplateStatus,
              message_template_id: Number(t.id),
              message_template_name: t.name,
              message_template_language: t.language,
              reason: t.status === 'APPROVED' ? null : (t.reason ?? 'NONE'),
            },
          },
        ],
      },
    ],
  };
  const body = asciiJson(envelope);
  await storage.businessMessages.enqueueWebhook({
    id: jobId(now),
    businessId: t.businessId,
    orderKey: `template:${t.id}`,
    kind: `template:${t.status}`,
    body,
    bytes: body.length,
    state: 'pending',
    attempts: 0,
    createdAt: now,
    nextAt: now,
    doneAt: null,
    lastStatus: null,
    lastError: null,
  });
}

/** Why a review step did nothing (the CLI prints it as one line). */
export class TemplateReviewError extends Error {
  constructor(
    readonly code: 'template_not_found' | 'review_not_allowed',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'TemplateReviewError';
  }
}

/**
 * The operator's review step: move a business's template to `status` (with a reason when it is not
 * APPROVED), record it in the audit log and queue the status webhook.
 */
export async function reviewTemplate(
  storage: Storage,
  now: number,
  input: { businessId: string; templateId: string; status: TemplateStatus; reason: string | null; actor?: string },
): Promise<TemplateView> {
  const t = await storage.businessTemplates.getTemplate(input.templateId);
  if (!t || t.businessId !== input.businessId)
    throw new TemplateReviewError(
      'template_not_found',
      `business ${input.businessId} has no template ${input.templateId}`,
    );
  const from = t.status as TemplateStatus;
  if (!TEMPLATE_TRANSITIONS[from].includes(input.status))
    throw new TemplateReviewError('review_not_allowed', `a ${from} template cannot become ${input.status}`);
  const reason = input.status === 'APPROVED' ? null : (input.reason ?? 'NONE');
  if (!(await storage.businessTemplates.setTemplateStatus(t.id, from, input.status, reason, now)))
    throw new TemplateReviewError('review_not_allowed', `template ${t.id} changed meanwhile: read it again`);
  const updated: TemplateRow = { ...t, status: input.status, reason, updatedAt: now };
  await recordAudit(storage, {
    time: now,
    admin: input.actor ?? CLI_ACTOR,
    role: 'operator',
    action: 'business.template.review',
    target: `template:${t.id}`,
    reason: `${t.name} (${t.language}) ${from} -> ${input.status}${reason ? `: ${reason}` : ''}`,
  });
  await queueTemplateStatus(storage, now, updated);
  return templateView(updated);
}

/** A Business API route of the business itself (`/{v}/{business-id}/…`), not of one of its numbers. */
export interface BusinessAccountRoute<Q extends z.ZodType = z.ZodType, B extends z.ZodType = z.ZodType> {
  readonly name: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  /** Below `/{version}`; `:businessId` must be the token's business. */
  readonly path: string;
  readonly query: Q;
  readonly body?: B;
  readonly run: (
    ctx: ServerContext,
    caller: { token: BusinessTokenRow; businessId: string },
    input: { query: z.infer<Q>; body: z.infer<B> },
  ) => Promise<unknown>;
}

const accountRoute = <Q extends z.ZodType, B extends z.ZodType = z.ZodUndefined>(
  r: BusinessAccountRoute<Q, B>,
): BusinessAccountRoute<Q, B> => r;

/** Fields a template list may ask for (`?fields=`); `id` is always answered. */
const TEMPLATE_FIELDS = ['name', 'components', 'language', 'status', 'category', 'id', 'rejected_reason'];

/** The `message_templates` edge: create, list, delete. */
export const TEMPLATE_ROUTES = [
  accountRoute({
    name: 'message_templates.create',
    method: 'POST',
    path: '/:businessId/message_templates',
    query: z.object({}).strict(),
    body: templateCreateBody,
    run: async (ctx, { businessId }, { body }) => {
      const now = ctx.now();
      const rejection = automaticRejection(body);
      const row: TemplateRow = {
        id: numericId(),
        businessId,
        name: body.name,
        language: body.language,
        category: body.category,
        status: rejection ? 'REJECTED' : 'PENDING',
        reason: rejection,
        components: JSON.stringify(body.components),
        createdAt: now,
        updatedAt: now,
      };
      if (!(await ctx.storage.businessTemplates.createTemplate(row)))
        throw new BusinessApiError('template_exists', `template ${body.name} already exists in ${body.language}`);
      if (rejection) await queueTemplateStatus(ctx.storage, now, row);
      return { id: row.id, status: row.status, category: row.category };
    },
  }),
  accountRoute({
    name: 'message_templates.list',
    method: 'GET',
    path: '/:businessId/message_templates',
    query: templateListQuery,
    run: async (ctx, { businessId }, { query }) => {
      const fields = query.fields?.split(',').map((f) => f.trim());
      if (fields && !fields.every((f) => TEMPLATE_FIELDS.includes(f)))
        throw new BusinessApiError('invalid_parameter', `fields must be among ${TEMPLATE_FIELDS.join(', ')}`);
      const limit = query.limit ?? 25;
      const filter = {
        ...(query.name !== undefined ? { name: query.name } : {}),
        ...(query.status !== undefined ? { status: query.status } : {}),
        ...(query.category !== undefined ? { category: query.category } : {}),
        ...(query.language !== undefined ? { language: query.language } : {}),
        ...(query.after !== undefined ? { after: query.after } : {}),
      };
      // One more than asked tells whether a next page exists.
      const rows = await ctx.storage.businessTemplates.listTemplates(businessId, filter, limit + 1);
      const page = rows.slice(0, limit);
      const data = page.map((r) => {
        const v = templateView(r) as unknown as Record<string, unknown>;
        if (!fields) return v;
        return Object.fromEntries(Object.entries(v).filter(([k]) => k === 'id' || fields.includes(k)));
      });
      return {
        data,
        ...(page.length
          ? {
              paging: {
                cursors: { before: page[0]!.id, after: page.at(-1)!.id },
                ...(rows.length > limit ? { next: `?limit=${limit}&after=${page.at(-1)!.id}` } : {}),
              },
            }
          : {}),
      };
    },
  }),
  accountRoute({
    name: 'message_templates.delete',
    method: 'DELETE',
    path: '/:businessId/message_templates',
    query: templateDeleteQuery,
    run: async (ctx, { businessId }, { query }) => {
      const deleted = await ctx.storage.businessTemplates.deleteTemplates(businessId, query.name, query.hsm_id);
      if (!deleted.length)
        throw new BusinessApiError(
          'template_not_found',
          `no template ${query.name}${query.hsm_id ? ` with id ${query.hsm_id}` : ''}`,
        );
      return { success: true };
    },
  }),
];

// ---------------------------------------------------------------------------------------------
// Sending a template.

/** The text a parameter puts in place of its `{{n}}`. */
function parameterText(p: TemplateParameter, where: string): string {
  if (p.type === 'text') return p.text;
  if (p.type === 'currency') return p.currency.fallback_value;
  if (p.type === 'date_time') return p.date_time.fallback_value;
  throw new BusinessApiError('template_param_format', `${where}: a ${p.type} parameter where the template has text`);
}

/** `text` with `{{n}}` replaced by the n-th value. */
function fill(text: string, values: string[]): string {
  return text.replace(/\{\{(\d{1,3})\}\}/g, (_m, n: string) => values[Number(n) - 1] ?? '');
}

/** The template, approved, that a send names (by name and language) in this business. */
async function approvedTemplate(ctx: ServerContext, businessId: string, name: string, language: string) {
  const t = await ctx.storage.businessTemplates.findTemplate(businessId, name, language);
  if (!t) throw new BusinessApiError('template_not_found', `template ${name} (${language}) does not exist`);
  if (t.status === 'PAUSED') throw new BusinessApiError('template_paused', `template ${name} (${language}) is paused`);
  if (t.status === 'DISABLED')
    throw new BusinessApiError('template_disabled', `template ${name} (${language}) is disabled`);
  if (t.status !== 'APPROVED')
    throw new BusinessApiError(
      'template_not_found',
      `template ${name} (${language}) is ${t.status.toLowerCase()}, not approved`,
    );
  return t;
}

/**
 * Check a `template` message against the business's approved template and fill it in: what the
 * user's device receives. Every mismatch is refused with its Cloud API code (docs/business.md).
 */
export async function templateMessage(
  ctx: ServerContext,
  businessId: string,
  send: { name: string; language: { code: string }; components?: TemplateSendComponent[] },
): Promise<{ message: BusinessTemplateMessage; category: TemplateCategory }> {
  const t = await approvedTemplate(ctx, businessId, send.name, send.language.code);
  const components = JSON.parse(t.components) as TemplateComponent[];
  const header = components.find((c) => c.type === 'HEADER');
  const body = components.find((c) => c.type === 'BODY')!;
  const footer = components.find((c) => c.type === 'FOOTER');
  const buttons = components.find((c) => c.type === 'BUTTONS')?.buttons ?? [];

  const given = send.components ?? [];
  const sent = { header: given.filter((c) => c.type === 'header'), body: given.filter((c) => c.type === 'body') };
  if (sent.header.length > 1 || sent.body.length > 1)
    throw new BusinessApiError('invalid_parameter', 'components: at most one header and one body');
  const buttonParams = new Map<number, Extract<TemplateSendComponent, { type: 'button' }>>();
  for (const c of given)
    if (c.type === 'button') {
      if (buttonParams.has(c.index))
        throw new BusinessApiError('invalid_parameter', `components: button ${c.index} given twice`);
      buttonParams.set(c.index, c);
    }

  const out: BusinessTemplateMessage = { kind: 'template', name: t.name, language: t.language, body: '' };

  // Header: a text with at most one parameter, or media / a location given as the one parameter.
  const hp = (sent.header[0]?.parameters ?? []) as TemplateParameter[];
  if (!header) {
    if (hp.length) throw new BusinessApiError('template_param_count', 'header: the template has no header');
  } else if (header.format === 'TEXT') {
    const want = templateParameters(header.text!).length;
    if (hp.length !== want)
      throw new BusinessApiError('template_param_count', `header: expected ${want} parameters, got ${hp.length}`);
    const text = fill(
      header.text!,
      hp.map((p, i) => parameterText(p, `header parameter ${i + 1}`)),
    );
    if (text.length > TEMPLATE_LIMITS.headerChars)
      throw new BusinessApiError('template_text_too_long', `header: ${text.length} characters, at most 60`);
    out.header = { format: 'text', text };
  } else {
    if (hp.length !== 1)
      throw new BusinessApiError('template_param_count', `header: expected 1 parameter, got ${hp.length}`);
    const p = hp[0]!;
    const format = header.format.toLowerCase();
    if (p.type !== format)
      throw new BusinessApiError(
        'template_param_format',
        `header: a ${p.type} parameter where the template has ${format}`,
      );
    if (p.type === 'location') {
      const lat = Number(p.location.latitude);
      const lon = Number(p.location.longitude);
      if (!(Math.abs(lat) <= 90 && Math.abs(lon) <= 180))
        throw new BusinessApiError('parameter_value_invalid', 'header: latitude or longitude out of range');
      out.header = {
        format: 'location',
        latitude: lat,
        longitude: lon,
        ...(p.location.name ? { name: p.location.name } : {}),
        ...(p.location.address ? { address: p.location.address } : {}),
      };
    } else if (p.type === 'image' || p.type === 'video' || p.type === 'document') {
      const media = p[p.type]!;
      if (media.link === undefined)
        throw new BusinessApiError('media_not_found', `header: media ${String(media.id).slice(0, 64)} does not exist`);
      out.header = { format: p.type, link: media.link, ...(media.filename ? { filename: media.filename } : {}) };
    }
  }

  // Body: exactly the template's parameters, text-like, without the characters the policy bars.
  const bp = (sent.body[0]?.parameters ?? []) as TemplateParameter[];
  const want = templateParameters(body.text).length;
  if (bp.length !== want)
    throw new BusinessApiError('template_param_count', `body: expected ${want} parameters, got ${bp.length}`);
  const values = bp.map((p, i) => {
    const v = parameterText(p, `body parameter ${i + 1}`);
    if (/[\n\t]| {5,}/.test(v))
      throw new BusinessApiError(
        'template_format_policy',
        `body parameter ${i + 1}: no newlines, tabs or more than four spaces in a row`,
      );
    return v;
  });
  out.body = fill(body.text, values);
  if (out.body.length > TEMPLATE_LIMITS.bodyChars)
    throw new BusinessApiError('template_text_too_long', `body: ${out.body.length} characters, at most 1024`);
  if (footer) out.footer = footer.text;

  // Buttons: each given index names a button of the matching kind; URL parameters and codes are required.
  for (const i of buttonParams.keys())
    if (i >= buttons.length)
      throw new BusinessApiError('template_param_format', `button ${i}: the template has ${buttons.length} buttons`);
  if (buttons.length) {
    out.buttons = buttons.map((b, i) => {
      const c = buttonParams.get(i);
      const kind = b.type.toLowerCase();
      if (c && c.sub_type !== kind)
        throw new BusinessApiError(
          'template_param_format',
          `button ${i}: sub_type ${c.sub_type}, the button is ${kind}`,
        );
      const ps = (c?.parameters ?? []) as TemplateParameter[];
      switch (b.type) {
        case 'QUICK_REPLY': {
          const p = ps[0];
          if (p && p.type !== 'payload' && p.type !== 'text')
            throw new BusinessApiError('template_param_format', `button ${i}: a quick reply takes a payload`);
          const payload = p ? (p.type === 'payload' ? p.payload : (p as { text: string }).text) : b.text;
          return { type: 'quick_reply' as const, text: b.text, payload };
        }
        case 'URL': {
          const n = templateParameters(b.url).length;
          if (ps.length !== n)
            throw new BusinessApiError(
              'template_param_count',
              `button ${i}: expected ${n} parameters, got ${ps.length}`,
            );
          const suffix = ps[0] ? parameterText(ps[0], `button ${i}`) : '';
          return { type: 'url' as const, text: b.text, url: fill(b.url, [encodeURI(suffix)]) };
        }
        case 'PHONE_NUMBER':
          if (ps.length)
            throw new BusinessApiError(
              'template_param_count',
              `button ${i}: a phone-number button takes no parameters`,
            );
          return { type: 'phone_number' as const, text: b.text, phone: b.phone_number };
        case 'COPY_CODE': {
          const p = ps[0];
          if (!p) throw new BusinessApiError('required_parameter_missing', `button ${i}: the coupon_code to copy`);
          if (p.type !== 'coupon_code')
            throw new BusinessApiError('template_param_format', `button ${i}: a copy-code button takes a coupon_code`);
          return { type: 'copy_code' as const, code: p.coupon_code };
        }
      }
    });
  }
  return { message: out, category: t.category as TemplateCategory };
}
