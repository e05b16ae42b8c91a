/**
 * Business accounts (C10, docs/business.md): what the operator does (create a business with its
 * first number, issue and revoke system-user access tokens, list) and what the Business API needs
 * (find the business behind a bearer token). Tokens are shown once and stored only as SHA-256;
 * each business's app secret, which will sign its webhooks, is a server secret sealed under the
 * key-encryption key like every other (services/server-secrets.ts).
 */
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { Storage } from '../storage/types.ts';
import type { BusinessRow, BusinessTokenRow } from '../storage/business.ts';
import { businessAppSecretName } from '../storage/business.ts';
import type { ServerSecrets } from '../services/server-secrets.ts';
import { logEntry, verifyWebhookUrl } from './webhooks.ts';

/** Prefix of every business access token, so a leaked one is recognisable in logs and scanners. */
export const BUSINESS_TOKEN_PREFIX = 'pbiz_';

/** SHA-256 of a business access token (domain-separated from device and staff tokens). */
export function businessTokenHash(token: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`parley-business:${token}`).digest());
}

/** A fresh access token: the prefix and 256 random bits. */
function newToken(): string {
  return `${BUSINESS_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** A numeric id like the Cloud API's (15 digits, no leading zero), random so ids reveal no count. */
export function numericId(): string {
  let id = String(randomInt(1, 10));
  for (let i = 0; i < 14; i++) id += String(randomInt(0, 10));
  return id;
}

/** The number in E.164 when it is a valid phone number, else null. */
export function validBusinessPhone(phone: string): string | null {
  if (!/^\+[1-9]\d{7,14}$/.test(phone)) return null;
  const parsed = parsePhoneNumberFromString(phone);
  return parsed?.isValid() ? parsed.number : null;
}

/** `+1 555-…` style: the number as the Cloud API's `display_phone_number` shows it. */
export function displayPhone(phone: string): string {
  return parsePhoneNumberFromString(phone)?.formatInternational() ?? phone;
}

/** Why an operator's business command did nothing (the CLI prints it as one line). */
export class BusinessCommandError extends Error {
  constructor(
    readonly code: 'phone_taken' | 'business_not_found' | 'token_not_found' | 'webhook_unverified',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'BusinessCommandError';
  }
}

/** What `create` answers: everything the business needs, the token and the secret shown this once. */
export interface CreatedBusiness {
  businessId: string;
  name: string;
  phoneNumberId: string;
  phone: string;
  verifiedName: string;
  tokenId: string;
  accessToken: string;
  appSecret: string;
  webhookUrl: string | null;
}

/** The operator's business commands over an open storage and the loaded server secrets. */
export class BusinessAccounts {
  constructor(
    private readonly storage: Storage,
    private readonly secrets: ServerSecrets,
    private readonly now: () => number,
  ) {}

  /** Create a business with one number, its first token and its app secret. */
  async create(input: {
    name: string;
    phone: string;
    webhookUrl?: string;
    verifyToken?: string;
  }): Promise<CreatedBusiness> {
    // A webhook URL is registered only once it answers the verification handshake.
    if (input.webhookUrl !== undefined)
      await verifyWebhookUrl(input.webhookUrl, input.verifyToken ?? '').catch((e: unknown) => {
        throw new BusinessCommandError('webhook_unverified', (e as Error).message);
      });
    const at = this.now();
    const business: BusinessRow = {
      id: numericId(),
      name: input.name,
      webhookUrl: input.webhookUrl ?? null,
      verifyToken: input.verifyToken ?? null,
      createdAt: at,
    };
    const number = {
      id: numericId(),
      businessId: business.id,
      phone: input.phone,
      verifiedName: input.name,
      createdAt: at,
    };
    if (!(await this.storage.business.createBusiness(business, number)))
      throw new BusinessCommandError('phone_taken', `${input.phone} is already a business number`);
    const appSecret = await this.appSecret(business.id);
    const { tokenId, accessToken } = await this.createToken(business.id);
    return {
      businessId: business.id,
      name: business.name,
      phoneNumberId: number.id,
      phone: number.phone,
      verifiedName: number.verifiedName,
      tokenId,
      accessToken,
      appSecret,
      webhookUrl: business.webhookUrl,
    };
  }

  /** The business's app secret (hex), made on first use and kept sealed among the server secrets. */
  async appSecret(businessId: string): Promise<string> {
    const raw = await this.secrets.getOrCreate(businessAppSecretName(businessId), () => randomBytes(16));
    return Buffer.from(raw).toString('hex');
  }

  /** Issue another access token for a business. */
  async createToken(businessId: string): Promise<{ businessId: string; tokenId: string; accessToken: string }> {
    if (!(await this.storage.business.getBusiness(businessId)))
      throw new BusinessCommandError('business_not_found', `no business ${businessId}`);
    const accessToken = newToken();
    const row: BusinessTokenRow = {
      id: `tok_${randomBytes(8).toString('hex')}`,
      businessId,
      tokenHash: businessTokenHash(accessToken),
      createdAt: this.now(),
      lastUsedAt: null,
      revokedAt: null,
    };
    await this.storage.business.putToken(row);
    return { businessId, tokenId: row.id, accessToken };
  }

  /** Revoke one token of a business; it stops working on the next request. */
  async revokeToken(
    businessId: string,
    tokenId: string,
  ): Promise<{ businessId: string; tokenId: string; revoked: true }> {
    if (!(await this.storage.business.revokeToken(businessId, tokenId, this.now())))
      throw new BusinessCommandError('token_not_found', `business ${businessId} has no active token ${tokenId}`);
    return { businessId, tokenId, revoked: true };
  }

  /** A business's webhook delivery log, newest first (what was sent, when, and how it went). */
  async webhookLog(businessId: string, limit = 100): Promise<unknown[]> {
    if (!(await this.storage.business.getBusiness(businessId)))
      throw new BusinessCommandError('business_not_found', `no business ${businessId}`);
    return (await this.storage.businessMessages.webhookLog(businessId, limit)).map(logEntry);
  }

  /** Every business with its numbers and token metadata (never tokens or secrets). */
  async list(): Promise<unknown[]> {
    const out: unknown[] = [];
    for (const b of await this.storage.business.listBusinesses()) {
      const numbers = await this.storage.business.listNumbers(b.id);
      const tokens = await this.storage.business.listTokens(b.id);
      out.push({
        businessId: b.id,
        name: b.name,
        createdAt: b.createdAt,
        webhookUrl: b.webhookUrl,
        phoneNumbers: numbers.map((n) => ({ phoneNumberId: n.id, phone: n.phone, verifiedName: n.verifiedName })),
        tokens: tokens.map((t) => ({
          tokenId: t.id,
          createdAt: t.createdAt,
          lastUsedAt: t.lastUsedAt,
          revokedAt: t.revokedAt,
        })),
      });
    }
    return out;
  }
}
