/**
 * The storage root (C19): one connection, one repository per entity over it, and the lifecycle
 * (migrate, ping, close). Both drivers build this same object: what differs per driver comes in as
 * the send path (`SendPath`, the hot path of C3), the token lookup, and `DriverTraits`.
 */
import { sql, type Kysely } from 'kysely';
import type {
  AccountStore,
  ConversationStore,
  DiscoveryStore,
  KeyTransparencyStore,
  MediaStore,
  ProfileStore,
  SafetyStore,
  SecretStore,
  Storage,
} from './types.ts';
import { migrateToLatest } from './schema.ts';
import type { Db, StoreContext } from './driver.ts';
import { KyselyAccountStore, type TokenLookup } from './accounts.ts';
import { KyselyConversationStore, type SendPath } from './conversations.ts';
import { KyselyMediaStore } from './media.ts';
import { KyselySecretStore } from './secrets.ts';
import { KyselyDiscoveryStore } from './discovery.ts';
import { KyselyProfileStore } from './profiles.ts';
import { KyselyKeyTransparencyStore } from './key-transparency.ts';
import { KyselyAdminStore, type AdminStore } from './admin.ts';
import { KyselySafetyStore } from './safety.ts';
import { KyselyBusinessStore, type BusinessStore } from './business.ts';
import { KyselyPushStore, type PushStore } from './push.ts';
import { KyselyBusinessMessageStore, type BusinessMessageStore } from './business-messages.ts';
import { KyselyBusinessRuleStore, type BusinessRuleStore } from './business-rules.ts';
import { KyselyBusinessTemplateStore, type BusinessTemplateStore } from './business-templates.ts';
import { KyselyBusinessMediaStore, type BusinessMediaStore } from './business-media.ts';

/** What a driver brings to the shared stores. */
export interface DriverParts {
  readonly sendPath: SendPath;
  readonly tokens: TokenLookup;
}

/** Storage over any Kysely dialect: the entity stores, sharing one connection. */
export class KyselyStorage implements Storage {
  readonly accounts: AccountStore;
  readonly conversations: ConversationStore;
  readonly media: MediaStore;
  readonly secrets: SecretStore;
  readonly discovery: DiscoveryStore;
  readonly profiles: ProfileStore;
  readonly keyTransparency: KeyTransparencyStore;
  readonly admin: AdminStore;
  readonly safety: SafetyStore;
  readonly business: BusinessStore;
  readonly push: PushStore;
  readonly businessMessages: BusinessMessageStore;
  readonly businessRules: BusinessRuleStore;
  readonly businessTemplates: BusinessTemplateStore;
  readonly businessMedia: BusinessMediaStore;

  /** The shared connection (tests inspect or alter rows through it directly). */
  readonly db: Db;

  constructor(
    private readonly ctx: StoreContext,
    readonly driver: 'sqlite' | 'postgres',
    parts: DriverParts,
  ) {
    this.db = ctx.db;
    this.accounts = new KyselyAccountStore(ctx, parts.tokens);
    this.conversations = new KyselyConversationStore(ctx, parts.sendPath);
    this.media = new KyselyMediaStore(ctx);
    this.secrets = new KyselySecretStore(ctx);
    this.discovery = new KyselyDiscoveryStore(ctx);
    this.profiles = new KyselyProfileStore(ctx);
    this.keyTransparency = new KyselyKeyTransparencyStore(ctx);
    this.admin = new KyselyAdminStore(ctx.db);
    this.safety = new KyselySafetyStore(ctx);
    this.business = new KyselyBusinessStore(ctx);
    this.push = new KyselyPushStore(ctx);
    this.businessMessages = new KyselyBusinessMessageStore(ctx);
    this.businessRules = new KyselyBusinessRuleStore(ctx);
    this.businessTemplates = new KyselyBusinessTemplateStore(ctx);
    this.businessMedia = new KyselyBusinessMediaStore(ctx);
  }

  async migrate(): Promise<void> {
    await migrateToLatest(this.ctx.db as unknown as Kysely<unknown>, this.driver);
  }

  private readonly closers: (() => Promise<void>)[] = [];

  /** Run `fn` when the storage closes, before the connection goes (drivers release helpers this way). */
  onClosed(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  private closing: Promise<void> | null = null;

  /** Release the connection; a second call waits for the first instead of writing to a closed database. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const fn of this.closers) await fn();
      await this.ctx.db.destroy();
    })();
    return this.closing;
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.ctx.db);
  }
}
