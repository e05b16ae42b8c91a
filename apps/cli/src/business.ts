/**
 * `parley business …` (C10, docs/business.md): business accounts, run by the operator on the
 * server's machine against its database and server-secrets key (the same environment as `serve`).
 * `create` prints the first access token and the app secret once; only the token's hash is stored
 * and the secret is kept sealed.
 */
import {
  BUSINESS_LIMITS,
  TEMPLATE_LIMITS,
  TEMPLATE_STATUSES,
  businessIdSchema,
  type TemplateStatus,
} from '@parley/protocol';
import { need, UsageError, type ParsedArgs } from './args.ts';

/** A flag's value when given, undefined when absent; a flag given without a value is a usage error. */
function optional(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

/** `--business ID` (digits, as `create` printed it). */
function businessId(args: ParsedArgs): string {
  const id = need(args, 'business');
  if (!businessIdSchema.safeParse(id).success) throw new UsageError('--business must be a business id (digits)');
  return id;
}

/** Run a business subcommand; returns the exit status. */
export async function business(args: ParsedArgs, print: (obj: unknown) => void): Promise<number> {
  const sub = args.words[1];
  if (sub === 'create') {
    const name = need(args, 'name').trim();
    if (!name || name.length > BUSINESS_LIMITS.nameChars)
      throw new UsageError(`--name must be 1-${BUSINESS_LIMITS.nameChars} characters`);
    const rawPhone = need(args, 'phone');
    const webhookUrl = optional(args, 'webhook');
    const verifyToken = optional(args, 'verify-token');
    if ((webhookUrl === undefined) !== (verifyToken === undefined))
      throw new UsageError('--webhook and --verify-token go together');
    if (webhookUrl !== undefined && !isWebhookUrl(webhookUrl))
      throw new UsageError(`--webhook must be an http(s) URL of at most ${BUSINESS_LIMITS.webhookUrlChars} characters`);
    if (verifyToken !== undefined && (!verifyToken || verifyToken.length > BUSINESS_LIMITS.verifyTokenChars))
      throw new UsageError(`--verify-token must be 1-${BUSINESS_LIMITS.verifyTokenChars} characters`);
    // Loaded only here, like `serve`: other commands do not pay for the server's modules.
    const { withBusinessAccounts, validBusinessPhone } = await import('@parley/server');
    const phone = validBusinessPhone(rawPhone);
    if (!phone) throw new UsageError('--phone must be a valid phone number in E.164 (+ and digits)');
    const created = await withBusinessAccounts(process.env, (b) =>
      b.create({ name, phone, ...(webhookUrl !== undefined ? { webhookUrl, verifyToken: verifyToken! } : {}) }),
    );
    print({ ...created, note: 'the access token and app secret are shown once: store them now' });
    return 0;
  }
  if (sub === 'list') {
    const { withBusinessAccounts } = await import('@parley/server');
    for (const b of await withBusinessAccounts(process.env, (a) => a.list())) print(b);
    return 0;
  }
  if (sub === 'token' && args.words[2] === 'create') {
    const id = businessId(args);
    const { withBusinessAccounts } = await import('@parley/server');
    print({
      ...(await withBusinessAccounts(process.env, (b) => b.createToken(id))),
      note: 'the access token is shown once: store it now',
    });
    return 0;
  }
  if (sub === 'token' && args.words[2] === 'revoke') {
    const id = businessId(args);
    const tokenId = need(args, 'token-id');
    if (!/^tok_[0-9a-f]{16}$/.test(tokenId)) throw new UsageError('--token-id must be a token id (tok_…)');
    const { withBusinessAccounts } = await import('@parley/server');
    print(await withBusinessAccounts(process.env, (b) => b.revokeToken(id, tokenId)));
    return 0;
  }
  if (sub === 'webhooks') {
    // The delivery log: one line per webhook POST, newest first (--limit, default 100).
    const id = businessId(args);
    const rawLimit = optional(args, 'limit') ?? '100';
    if (!/^\d{1,4}$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 1000)
      throw new UsageError('--limit must be 1-1000');
    const { withBusinessAccounts } = await import('@parley/server');
    for (const e of await withBusinessAccounts(process.env, (b) => b.webhookLog(id, Number(rawLimit)))) print(e);
    return 0;
  }
  if (sub === 'templates') return templates(args, print);
  throw new UsageError('business needs create, list, token create, token revoke, webhooks or templates');
}

/** `--status` as a template state, when given. */
function templateStatus(args: ParsedArgs): TemplateStatus | undefined {
  const s = optional(args, 'status');
  if (s !== undefined && !(TEMPLATE_STATUSES as readonly string[]).includes(s))
    throw new UsageError(`--status must be one of ${TEMPLATE_STATUSES.join(', ')}`);
  return s as TemplateStatus | undefined;
}

/** `business templates list|review`: the operator's template review (docs/business.md "Templates"). */
async function templates(args: ParsedArgs, print: (obj: unknown) => void): Promise<number> {
  const id = businessId(args);
  const { withTemplateReview } = await import('@parley/server');
  if (args.words[2] === 'list') {
    const status = templateStatus(args);
    for (const t of await withTemplateReview(process.env, (r) => r.list(id, status))) print(t);
    return 0;
  }
  if (args.words[2] === 'review') {
    const templateId = need(args, 'template-id');
    if (!businessIdSchema.safeParse(templateId).success)
      throw new UsageError('--template-id must be a template id (digits)');
    const status = templateStatus(args);
    if (status === undefined || status === 'PENDING')
      throw new UsageError('--status must be APPROVED, REJECTED, PAUSED or DISABLED');
    const reason = optional(args, 'reason') ?? null;
    if (reason !== null && (!reason.trim() || reason.length > TEMPLATE_LIMITS.reasonChars))
      throw new UsageError(`--reason must be 1-${TEMPLATE_LIMITS.reasonChars} characters`);
    print(await withTemplateReview(process.env, (r) => r.review({ businessId: id, templateId, status, reason })));
    return 0;
  }
  throw new UsageError('business templates needs list or review');
}

function isWebhookUrl(s: string): boolean {
  if (s.length > BUSINESS_LIMITS.webhookUrlChars) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}
