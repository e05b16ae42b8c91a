/**
 * Business accounts for the command line (C10): `parley business create|list|token create|token
 * revoke` work on the database directly, like `parley admin`, with the same PARLEY_DATABASE_URL /
 * PARLEY_DATA_DIR and server-secrets key as `parley serve`.
 */
import pino from 'pino';
import { loadConfig } from '../config/index.ts';
import { createStorage } from '../storage/index.ts';
import { ServerSecrets } from '../services/server-secrets.ts';
import { BusinessAccounts } from './service.ts';
import { reviewTemplate, templateView } from './templates.ts';
import type { TemplateStatus, TemplateView } from '@parley/protocol';

export { BusinessAccounts, BusinessCommandError, validBusinessPhone, businessTokenHash } from './service.ts';
export { TemplateReviewError } from './templates.ts';

/** Open the configured database (migrated) and server secrets, run `fn`, close. */
export async function withBusinessAccounts<T>(
  env: Record<string, string | undefined>,
  fn: (accounts: BusinessAccounts) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const storage = await createStorage({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  });
  try {
    await storage.migrate();
    // Warnings (a key file made or readable by others) go to stderr: stdout carries the answer.
    const log = pino({ level: 'warn' }, pino.destination(2));
    const secrets = new ServerSecrets(storage, config, log, Date.now);
    await secrets.start();
    return await fn(new BusinessAccounts(storage, secrets, Date.now));
  } finally {
    await storage.close();
  }
}

/** The operator's template review from the command line (`parley business templates …`). */
export interface TemplateReview {
  /** A business's templates (all, or those in one state), in id order. */
  list(businessId: string, status?: TemplateStatus): Promise<TemplateView[]>;
  /** One review step, audited, with its status webhook queued for the server to deliver. */
  review(input: {
    businessId: string;
    templateId: string;
    status: TemplateStatus;
    reason: string | null;
  }): Promise<TemplateView>;
}

/** Open the configured database (migrated), run `fn` with the template review, close. */
export async function withTemplateReview<T>(
  env: Record<string, string | undefined>,
  fn: (review: TemplateReview) => Promise<T>,
): Promise<T> {
  const config = loadConfig(env);
  const storage = await createStorage({
    dataDir: config.dataDir,
    ...(config.databaseUrl ? { databaseUrl: config.databaseUrl } : {}),
  });
  try {
    await storage.migrate();
    return await fn({
      list: async (businessId, status) =>
        (await storage.businessTemplates.listTemplates(businessId, status ? { status } : {}, 10_000)).map(templateView),
      review: (input) => reviewTemplate(storage, Date.now(), input),
    });
  } finally {
    await storage.close();
  }
}
