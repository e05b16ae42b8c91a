/**
 * Server configuration (C19): one typed schema with defaults, read from environment variables and
 * validated at start. Each setting is declared once below, with its variable name, its schema and
 * the text `docs/operations.md` shows for it (that table is generated from these declarations by
 * `npx tsx scripts/config-doc.ts`, and a test fails when the two disagree). Secrets come from the
 * environment or files, never from committed files.
 */
import { z } from 'zod';
import { modelSpecShape, needsWorkflow } from '@parley/imagegen';

/** One setting: the variable that sets it, how it is parsed, and its documentation. */
export interface ConfigVar<S extends z.ZodType = z.ZodType> {
  /** The environment variable, `PARLEY_…`. */
  env: string;
  /** Parses the variable's text (or an override's value) into the config value, default included. */
  schema: S;
  /** What it does, in Markdown: the "meaning" column of the operations table. */
  doc: string;
  /**
   * The default as the table shows it, when the schema's own default needs words (an optional
   * setting whose absence means something, a size worth a unit). Must contain the schema's default
   * when it has one.
   */
  shownDefault?: string;
}

/** Declares a setting; the argument order reads like the table row it becomes. */
function setting<S extends z.ZodType>(env: string, schema: S, doc: string, shownDefault?: string): ConfigVar<S> {
  return shownDefault === undefined ? { env, schema, doc } : { env, schema, doc, shownDefault };
}

const intFrom = (def: number) => z.coerce.number().int().positive().default(def);
/** A per-day rate-limit figure: the limiter's arithmetic needs limit × window below 2^53 ms. */
const perDay = (def: number) => z.coerce.number().int().positive().max(10_000_000).default(def);
/** A comma-separated list of URLs in the environment (an array when passed as an override). */
const urlList = (pattern: RegExp, message: string) =>
  z
    .union([
      z.array(z.string()),
      z.string().transform((v) =>
        v
          .split(',')
          .map((u) => u.trim())
          .filter(Boolean),
      ),
    ])
    .pipe(z.array(z.string().regex(pattern, message)));

/** One hosted image model: a provider model spec plus the id clients pass, its daily quota and its cost. */
export const hostedModelSchema = z
  .object({
    ...modelSpecShape,
    id: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1–64 of A-Za-z0-9._-'),
    /** Images one account may generate with this model per UTC day. */
    dailyQuota: z.number().int().nonnegative().max(1_000_000),
    /** What one image costs, in the unit of `PARLEY_IMAGEGEN_BUDGET_PER_DAY`. */
    costPerImage: z.number().nonnegative().max(1_000_000).default(0),
    /** When set, only these accounts see and may use the model. */
    accounts: z.array(z.string().min(1).max(64)).max(100_000).optional(),
  })
  .strict()
  .refine(...needsWorkflow)
  .refine((m) => m.id !== 'pattern', { message: 'the id `pattern` is the offline renderer', path: ['id'] });
export type HostedModelConfig = z.infer<typeof hostedModelSchema>;

/** Every setting, in the order of the operations table. The config key is the property name. */
export const configVars = {
  port: setting(
    'PARLEY_PORT',
    z.coerce.number().int().min(0).max(65535).default(8080),
    'HTTP and WebSocket port; `0` picks a free port',
  ),
  host: setting(
    'PARLEY_HOST',
    z.string().min(1).optional(),
    'listen address; unset means this machine only, `0.0.0.0` every interface (the dev outbox then needs its token from everywhere): a server reachable from elsewhere is a deliberate choice',
    'unset (127.0.0.1)',
  ),
  dataDir: setting(
    'PARLEY_DATA_DIR',
    z.string().default('./data'),
    'SQLite file, local media, the secret key file and other local state (made 0700)',
  ),
  secretKeyFile: setting(
    'PARLEY_SECRET_KEY_FILE',
    z.string().min(1).optional(),
    'file holding the key that encrypts server secrets in the database (base64 of 32 bytes); made 0600 at first start when missing and the database holds no encrypted secret ("Server secrets" below)',
    '`$PARLEY_DATA_DIR/secret.key`',
  ),
  secretKey: setting(
    'PARLEY_SECRET_KEY',
    z.string().min(1).optional(),
    'that key itself (base64 of 32 bytes) instead of a file; not with `PARLEY_SECRET_KEY_FILE`',
  ),
  secretKeyPreviousFile: setting(
    'PARLEY_SECRET_KEY_PREVIOUS_FILE',
    z.string().min(1).optional(),
    'only while rotating: the file of the key being replaced; secrets under it are re-encrypted under the current key at start',
  ),
  secretKeyPrevious: setting(
    'PARLEY_SECRET_KEY_PREVIOUS',
    z.string().min(1).optional(),
    'the key being replaced itself, instead of a file; not with `PARLEY_SECRET_KEY_PREVIOUS_FILE`',
  ),
  databaseUrl: setting(
    'PARLEY_DATABASE_URL',
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    '`postgres://…`: use PostgreSQL instead of SQLite in the data folder',
  ),
  redisUrl: setting(
    'PARLEY_REDIS_URL',
    z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
    '`redis://…`: share wake-ups, presence and rate limits across processes',
  ),
  redisPrefix: setting(
    'PARLEY_REDIS_PREFIX',
    z
      .string()
      .regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ - only')
      .default('parley:'),
    'namespace for every Redis key and channel, so several deployments may share one Redis (1–64 of `A-Za-z0-9:_-`)',
  ),
  smsSender: setting(
    'PARLEY_SMS_SENDER',
    z.enum(['dev-outbox', 'http']).default('dev-outbox'),
    '`dev-outbox` (codes readable at `GET /dev/outbox`) or `http` (an SMS gateway)',
  ),
  devOutboxToken: setting(
    'PARLEY_DEV_OUTBOX_TOKEN',
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{16,200}$/, 'use 16 to 200 letters, digits, _ or -')
      .optional(),
    'operator token for `GET /dev/outbox` (`Authorization: Bearer`; 16–200 of `A-Za-z0-9_-`), printed in the start banner; only used with the `dev-outbox` sender',
    'random per start',
  ),
  smsHttpUrl: setting(
    'PARLEY_SMS_HTTP_URL',
    z.string().url().optional(),
    'gateway for the `http` sender: it receives `POST {"to","text"}` JSON and must answer 2xx',
  ),
  smsHttpToken: setting(
    'PARLEY_SMS_HTTP_TOKEN',
    z.string().optional(),
    'sent as `Authorization: Bearer` to the gateway',
  ),
  webDir: setting(
    'PARLEY_WEB_DIR',
    z.string().optional(),
    'built web client to serve at `/`',
    "unset (the repository's `apps/web/dist` when it exists)",
  ),
  logLevel: setting(
    'PARLEY_LOG_LEVEL',
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    'pino level (`silent` … `trace`); logs are JSON lines on stdout',
  ),
  metricsPort: setting(
    'PARLEY_METRICS_PORT',
    z.coerce.number().int().min(0).max(65535).optional(),
    'serve Prometheus metrics at `GET /metrics` on this port, a listener of its own, never the main port (see Metrics below); `0` picks a free port',
    'unset (off)',
  ),
  metricsHost: setting(
    'PARLEY_METRICS_HOST',
    z.string().min(1).default('127.0.0.1'),
    'address of the metrics listener; set it (e.g. to a private interface) only when the scraper runs on another machine',
  ),
  nodeId: setting('PARLEY_NODE_ID', z.string().optional(), "this process's name in presence records", 'random'),
  shutdownTimeoutSeconds: setting(
    'PARLEY_SHUTDOWN_TIMEOUT_SECONDS',
    z.coerce.number().positive().max(600).default(10),
    'on SIGTERM/SIGINT, how long draining may take (at most 600); past it the process logs `shutdown deadline passed` and exits 1',
  ),
  registrationPerNumberPerHour: setting(
    'PARLEY_REGISTRATION_PER_NUMBER',
    intFrom(5),
    'verification-code requests per number per hour',
  ),
  registrationPerIpPerHour: setting(
    'PARLEY_REGISTRATION_PER_IP',
    intFrom(200),
    'code requests per IP per hour (an office behind one address must fit)',
  ),
  verifyPerSessionPerHour: setting(
    'PARLEY_VERIFY_PER_SESSION',
    intFrom(10),
    "verification attempts per code request (the `sessionId` it returned) per hour: guesses are bound to the session that requested the code, so nobody can spend another requester's budget; 5 wrong codes void that request's code, never another's",
  ),
  verifyPerIpPerHour: setting(
    'PARLEY_VERIFY_PER_IP',
    intFrom(800),
    'verification attempts per IP address per hour, all sessions together',
  ),
  codeSweepSeconds: setting(
    'PARLEY_CODE_SWEEP_SECONDS',
    intFrom(60),
    'how often expired verification codes, with the numbers they were sent to, and expired link sessions are deleted',
  ),
  discoveryFirstDay: setting(
    'PARLEY_DISCOVERY_FIRST_DAY',
    intFrom(300),
    'previously unseen numbers an account may look up on its first day (docs/discovery.md)',
  ),
  discoveryFirstWeek: setting(
    'PARLEY_DISCOVERY_FIRST_WEEK',
    intFrom(1000),
    "total unseen numbers an account may have looked up by day 7, growing evenly from the first day's figure",
  ),
  discoveryPerDay: setting(
    'PARLEY_DISCOVERY_PER_DAY',
    intFrom(10),
    'further unseen numbers per day after the first week',
  ),
  discoveryPerIpPerDay: setting(
    'PARLEY_DISCOVERY_PER_IP',
    perDay(20_000),
    'unseen numbers looked up from one IP address per day, all accounts together (an office behind one address must fit; held in Redis when configured); at most 10,000,000',
  ),
  discoveryEvaluationsPerDay: setting(
    'PARLEY_DISCOVERY_EVALUATIONS_PER_DAY',
    perDay(5000),
    'blinded numbers one account may have evaluated per day (bounds server work; cached contacts need none); at most 10,000,000',
  ),
  profileFetchesPerTarget: setting(
    'PARLEY_PROFILE_FETCHES_PER_TARGET',
    intFrom(6),
    'profile fetches per requester and target account per 10 minutes (docs/profiles.md)',
  ),
  presenceFetchesPerTarget: setting(
    'PARLEY_PRESENCE_FETCHES_PER_TARGET',
    intFrom(60),
    'online / last-seen fetches per requester and target account per 10 minutes',
  ),
  usernameLookupsPerDay: setting(
    'PARLEY_USERNAME_LOOKUPS_PER_DAY',
    perDay(100),
    'username lookups per account per day (exact match only; bounds guessing); at most 10,000,000',
  ),
  usernameChangesPerDay: setting(
    'PARLEY_USERNAME_CHANGES_PER_DAY',
    perDay(10),
    'username changes per account per day (a taken name is an answer too, so attempts count); at most 10,000,000',
  ),
  discoveryAlarmFactor: setting(
    'PARLEY_DISCOVERY_ALARM_FACTOR',
    intFrom(3),
    "the enumeration alarm fires when today's unseen-number lookups exceed this many times the median of the previous 30 days...",
  ),
  discoveryAlarmFloor: setting(
    'PARLEY_DISCOVERY_ALARM_FLOOR',
    intFrom(10_000),
    "...and this absolute count (a young server's median is near zero); while it holds, accounts younger than 7 days get no new allowance",
  ),
  keyPackageClaimsPerTarget: setting(
    'PARLEY_KEYPACKAGE_CLAIMS_PER_TARGET',
    intFrom(30),
    'KeyPackage claims per requester and target account per 10 minutes',
  ),
  keyPackageClaimsPerClaimer: setting(
    'PARLEY_KEYPACKAGE_CLAIMS_PER_CLAIMER',
    intFrom(300),
    "other accounts' KeyPackages one account may claim per 10 minutes, all targets together (each account named in a claim counts one; the own account is free)",
  ),
  maxLinkedDevices: setting(
    'PARLEY_MAX_LINKED_DEVICES',
    intFrom(5),
    'devices one account may link besides its first (so at most this plus one active devices; docs/devices.md)',
  ),
  linkJoinsPerIp: setting(
    'PARLEY_LINK_JOINS_PER_IP',
    intFrom(30),
    'answers to link codes one IP address may send per 10 minutes (they need no account, so they are counted per address)',
  ),
  deviceListFetchesPerTarget: setting(
    'PARLEY_DEVICE_LIST_FETCHES_PER_TARGET',
    intFrom(30),
    "fetches of another account's device list per requester and target per 10 minutes (every KeyPackage claim checks the list too)",
  ),
  ktProofsPerTarget: setting(
    'PARLEY_KT_PROOFS_PER_TARGET',
    intFrom(6),
    'key-transparency proofs one account may fetch per target account per 10 minutes (docs/key-transparency.md)',
  ),
  ktReadsPerIp: setting(
    'PARLEY_KT_READS_PER_IP',
    intFrom(10_000),
    'public key-transparency reads (heads, consistency proofs) per IP address per 10 minutes',
  ),
  wsPingSeconds: setting(
    'PARLEY_WS_PING_SECONDS',
    z.coerce.number().positive().max(3600).default(30),
    'how often each WebSocket is pinged (at most 3600); a socket that missed the last pong, or had output waiting of which nothing left since the previous ping (a client that answers pings but never reads), is dropped',
  ),
  wsMaxBufferedBytes: setting(
    'PARLEY_WS_MAX_BUFFERED_BYTES',
    z.coerce
      .number()
      .int()
      .min(64 * 1024)
      .max(1024 * 1024 * 1024)
      .default(16 * 1024 * 1024),
    'output (answers and pushes together) one WebSocket may have waiting in the server (64 KiB to 1 GiB); past it the socket is closed with 4008 and dropped 2 s later, so a client that does not read costs at most this much memory',
    '16777216 (16 MiB)',
  ),
  // ----- media (C4): see docs/media.md
  blobStore: setting(
    'PARLEY_BLOB_STORE',
    z.enum(['local', 's3']).default('local'),
    'where encrypted media lives: `local` (`$PARLEY_DATA_DIR/media`) or `s3` (any S3-compatible store)',
  ),
  s3Bucket: setting(
    'PARLEY_S3_BUCKET',
    z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name')
      .optional(),
    'bucket for blobs (must exist); required with `s3`',
  ),
  s3Endpoint: setting(
    'PARLEY_S3_ENDPOINT',
    z.string().url().optional(),
    "endpoint of a self-hosted S3-compatible store; unset means the provider's default for the region",
  ),
  s3Region: setting('PARLEY_S3_REGION', z.string().min(1).default('us-east-1'), 'signing region'),
  s3AccessKeyId: setting(
    'PARLEY_S3_ACCESS_KEY_ID',
    z.string().min(1).optional(),
    "access key (with `PARLEY_S3_SECRET_ACCESS_KEY`, or neither: neither means the S3 client's default credential chain)",
  ),
  s3SecretAccessKey: setting(
    'PARLEY_S3_SECRET_ACCESS_KEY',
    z.string().min(1).optional(),
    'secret for `PARLEY_S3_ACCESS_KEY_ID`',
  ),
  s3Prefix: setting(
    'PARLEY_S3_PREFIX',
    z
      .string()
      .regex(/^([A-Za-z0-9_.-]+\/)*$/, 'segments of [A-Za-z0-9_.-], each ending in /')
      .default(''),
    'key prefix inside the bucket, e.g. `parley/`, so several deployments can share one bucket',
  ),
  s3ForcePathStyle: setting(
    'PARLEY_S3_FORCE_PATH_STYLE',
    z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
    '`true` or `false`: bucket in the path rather than the host name (most self-hosted stores)',
    '`true` with an endpoint',
  ),
  mediaMaxBytes: setting(
    'PARLEY_MEDIA_MAX_BYTES',
    intFrom(100 * 1024 * 1024),
    'largest blob (ciphertext) one upload may declare',
    '104857600 (100 MiB)',
  ),
  mediaQuotaBytes: setting(
    'PARLEY_MEDIA_QUOTA_BYTES',
    intFrom(2 * 1024 * 1024 * 1024),
    'bytes one account may hold: stored blobs plus uploads in progress',
    '2147483648 (2 GiB)',
  ),
  mediaTtlDays: setting(
    'PARLEY_MEDIA_TTL_DAYS',
    z.coerce.number().positive().max(3650).default(30),
    'days a blob lives after upload (at most 3650); downloads extend it by up to a week, never past twice this',
  ),
  mediaMaxUploads: setting(
    'PARLEY_MEDIA_MAX_UPLOADS',
    intFrom(16),
    'unfinished uploads one account may have at once (`too_many_uploads`); each holds part objects until finished, discarded or expired',
  ),
  mediaUploadTtlHours: setting(
    'PARLEY_MEDIA_UPLOAD_TTL_HOURS',
    z.coerce
      .number()
      .positive()
      .max(24 * 30)
      .default(24),
    'hours an unfinished upload is kept after its last chunk (at most 720)',
  ),
  mediaSweepSeconds: setting(
    'PARLEY_MEDIA_SWEEP_SECONDS',
    intFrom(600),
    'how often expired blobs and abandoned uploads are deleted',
  ),
  messageSweepSeconds: setting(
    'PARLEY_MESSAGE_SWEEP_SECONDS',
    intFrom(5),
    'how often the ciphertext of disappearing messages past their expiry is deleted from queues and the database (docs/disappearing.md)',
  ),
  // ----- calls (C6): see docs/calls.md
  turnUrls: setting(
    'PARLEY_TURN_URLS',
    urlList(/^turns?:[^\s,]+$/, 'each URL must start with turn: or turns:').default([]),
    'comma-separated `turn:`/`turns:` URLs handed to clients with short-lived credentials (docs/calls.md); needs `PARLEY_TURN_SECRET`',
  ),
  turnSecret: setting(
    'PARLEY_TURN_SECRET',
    z.string().min(16, 'use at least 16 characters').optional(),
    'secret shared with the TURN server (coturn `use-auth-secret` + `static-auth-secret`), at least 16 characters; needs `PARLEY_TURN_URLS`',
  ),
  turnTtlSeconds: setting(
    'PARLEY_TURN_TTL_SECONDS',
    z.coerce
      .number()
      .int()
      .positive()
      .max(7 * 86_400)
      .default(3600),
    'lifetime of minted TURN credentials (at most 7 days); it must cover the longest call',
  ),
  stunUrls: setting(
    'PARLEY_STUN_URLS',
    urlList(/^stuns?:[^\s,]+$/, 'each URL must start with stun: or stuns:').default([]),
    'comma-separated `stun:`/`stuns:` URLs handed to clients (no credentials)',
  ),
  sfu: setting(
    'PARLEY_SFU',
    z
      .union([z.boolean(), z.enum(['on', 'off', 'true', 'false']).transform((v) => v === 'on' || v === 'true')])
      .default(true),
    '`on` (or `true`) hosts group calls in this process; `off` (or `false`) refuses them with `calls_disabled` (1:1 calls still work)',
    '`on`',
  ),
  sfuMaxParticipants: setting(
    'PARLEY_SFU_MAX_PARTICIPANTS',
    z.coerce.number().int().min(2).max(64).default(16),
    'most devices in one group call (2–64)',
  ),
  callsPerDevice: setting(
    'PARLEY_CALLS_PER_DEVICE',
    intFrom(2),
    'group calls one device may be in (or joining) at once (`too_many_calls`)',
  ),
  sfuPortRange: setting(
    'PARLEY_SFU_PORT_RANGE',
    z
      .union([
        z.tuple([z.number().int(), z.number().int()]),
        z
          .string()
          .regex(/^[0-9]{1,5}-[0-9]{1,5}$/, 'must be min-max, e.g. 40000-40999')
          .transform((v) => v.split('-').map(Number) as [number, number]),
      ])
      .refine(([lo, hi]) => lo >= 1024 && hi <= 65535 && lo <= hi, 'ports must satisfy 1024 <= min <= max <= 65535')
      .optional(),
    "UDP ports the SFU's ICE uses, `min-max` within 1024–65535 (e.g. `40000-40999`; open them in the firewall)",
    'any',
  ),
  // ----- insider access (C14): see docs/admin.md
  adminBulkAccounts: setting(
    'PARLEY_ADMIN_BULK_ACCOUNTS',
    intFrom(20),
    'one admin reading more than this many distinct accounts within `PARLEY_ADMIN_BULK_MINUTES` raises the bulk-access alert (docs/admin.md)',
  ),
  adminBulkMinutes: setting('PARLEY_ADMIN_BULK_MINUTES', intFrom(10), "the bulk-access alert's window, in minutes"),
  // ----- Web Push (C18): see docs/notifications.md
  push: setting(
    'PARLEY_PUSH',
    z
      .union([z.boolean(), z.enum(['on', 'off', 'true', 'false']).transform((v) => v === 'on' || v === 'true')])
      .default(true),
    '`on` sends a content-free Web Push wake-up to a subscribed device that has no open socket when a message is queued for it; `off` keeps subscriptions but sends nothing',
    '`on`',
  ),
  pushSubject: setting(
    'PARLEY_PUSH_SUBJECT',
    z
      .string()
      .regex(/^(mailto:[^\s@]+@[^\s@]+|https:\/\/[^\s]+)$/, 'must be a mailto: address or an https: URL')
      .default('mailto:operator@parley.invalid'),
    'the VAPID `sub` claim push services use to reach the operator (RFC 8292): a `mailto:` address or an `https:` URL; set it to a real contact in production',
  ),
  pushTimeoutMs: setting(
    'PARLEY_PUSH_TIMEOUT_MS',
    z.coerce.number().int().min(100).max(60_000).default(10_000),
    'deadline of one request to a push service, in milliseconds (100–60,000); a push that misses it is dropped',
  ),
  pushConcurrency: setting(
    'PARLEY_PUSH_CONCURRENCY',
    z.coerce.number().int().min(1).max(1024).default(32),
    'push requests in flight at once per process (1–1,024)',
  ),
  pushQueueMax: setting(
    'PARLEY_PUSH_QUEUE_MAX',
    intFrom(10_000),
    'wake-ups waiting to be sent per process; past this the oldest are dropped (a device gets its messages when it next connects anyway)',
  ),
  pushTtlSeconds: setting(
    'PARLEY_PUSH_TTL_SECONDS',
    z.coerce.number().int().min(0).max(2_419_200).default(86_400),
    'how long a push service keeps a wake-up for an unreachable browser (RFC 8030 `TTL`, at most 4 weeks)',
  ),
  pushHttpHosts: setting(
    'PARLEY_PUSH_HTTP_HOSTS',
    z
      .union([
        z.array(z.string()),
        z.string().transform((v) =>
          v
            .split(',')
            .map((h) => h.trim().toLowerCase())
            .filter(Boolean),
        ),
      ])
      .pipe(z.array(z.enum(['127.0.0.1', 'localhost', '[::1]'], 'only 127.0.0.1, localhost or [::1]')))
      .default([]),
    'comma-separated loopback hosts (`127.0.0.1`, `localhost`, `[::1]`) a push subscription may name over plain `http:` (tests and the bench run a local push service there); leave it empty in production, where endpoints must be `https:`',
  ),
  // ----- Business API (C10): see docs/business.md
  businessWebhookRetryMs: setting(
    'PARLEY_BUSINESS_WEBHOOK_RETRY_MS',
    intFrom(1000),
    "the wait before a failed webhook POST's first retry, in milliseconds; each later retry waits twice as long (at most an hour), for 24 hours (docs/business.md)",
  ),
  businessThroughputPerSecond: setting(
    'PARLEY_BUSINESS_THROUGHPUT_PER_SECOND',
    z.coerce.number().int().min(1).max(1000).default(80),
    'messages a second each business phone number may send through the Business API (a smooth budget with a one-second burst, shared by every server process when PARLEY_REDIS_URL is set); beyond it sends answer 130429 (docs/business.md "Rules and limits")',
  ),
  businessPairBurst: setting(
    'PARLEY_BUSINESS_PAIR_BURST',
    z.coerce.number().int().min(1).max(1000).default(45),
    'messages a business number may send one user in a burst; the budget then refills one message every 6 seconds, and sends beyond it answer 131056 (the pair rate limit, docs/business.md "Rules and limits")',
  ),
  businessDailyUsers: setting(
    'PARLEY_BUSINESS_DAILY_USERS',
    z
      .union([z.number(), z.string()])
      .transform((v) => String(v).trim())
      .pipe(z.enum(['250', '2000', '10000', '100000', 'unlimited'], 'one of 250, 2000, 10000, 100000 or unlimited'))
      .transform((v): number | 'unlimited' => (v === 'unlimited' ? v : Number(v)))
      .default(250),
    'the messaging tier of every business number: distinct users a number may reach outside the customer-service window in a rolling day, `250`, `2000`, `10000`, `100000` or `unlimited`; beyond it sends answer 131048 (docs/business.md "Rules and limits")',
  ),
  // ----- image generation (C9): see docs/image-generation.md
  imagegenModels: setting(
    'PARLEY_IMAGEGEN_MODELS',
    z
      .union([
        z.array(z.unknown()),
        z.string().transform((v, ctx) => {
          try {
            return JSON.parse(v) as unknown;
          } catch {
            ctx.addIssue({ code: 'custom', message: 'must be a JSON array of models' });
            return z.NEVER;
          }
        }),
      ])
      .pipe(z.array(hostedModelSchema).max(32))
      .refine((ms) => new Set(ms.map((m) => m.id)).size === ms.length, 'model ids must differ')
      .default([]),
    'hosted image models, a JSON array (at most 32) of `{id, provider, baseUrl, apiKey?, model, displayName, dailyQuota, costPerImage, …}` (docs/image-generation.md); it holds provider keys, so keep it in the service environment, never in a committed file. Unset: only the offline pattern renderer',
  ),
  imagegenBudgetPerDay: setting(
    'PARLEY_IMAGEGEN_BUDGET_PER_DAY',
    z.coerce.number().nonnegative().max(1_000_000_000).optional(),
    "what all hosted jobs together may cost per UTC day, in the unit of the models' `costPerImage` (`image_budget_spent` once spent; failed jobs cost nothing)",
    'unset (no budget)',
  ),
  imagegenBlocklist: setting(
    'PARLEY_IMAGEGEN_BLOCKLIST',
    z
      .union([
        z.array(z.string()),
        z.string().transform((v) =>
          v
            .split(',')
            .map((w) => w.trim())
            .filter(Boolean),
        ),
      ])
      .pipe(z.array(z.string().min(1).max(200)).max(10_000))
      .default([]),
    'comma-separated words or phrases a prompt may not contain (case and accents ignored, whole words); checked before any provider is called (`image_prompt_blocked`)',
  ),
  imagegenJobsPerUser: setting(
    'PARLEY_IMAGEGEN_JOBS_PER_USER',
    z.coerce.number().int().positive().max(100).default(2),
    'hosted jobs one account may have running at once (`image_jobs_busy` past it)',
  ),
  imagegenTimeoutSeconds: setting(
    'PARLEY_IMAGEGEN_TIMEOUT_SECONDS',
    z.coerce.number().int().positive().max(3600).default(120),
    'how long a hosted job may run (at most 3600); past it the job is cancelled at the provider and the device gets `image_provider_timeout`',
  ),
  imagegenPatternPerDay: setting(
    'PARLEY_IMAGEGEN_PATTERN_PER_DAY',
    perDay(500),
    'images one account may render per UTC day with the offline pattern renderer on the server (it costs CPU only); at most 10,000,000',
  ),
  imagegenRequireLabel: setting(
    'PARLEY_IMAGEGEN_REQUIRE_LABEL',
    z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(true),
    "`true` or `false`: tell clients (in the models list) that every generated image must carry its provenance label; Parley's own clients always add it",
  ),
};

type Vars = typeof configVars;
const keys = Object.keys(configVars) as (keyof Vars)[];

/** The validated configuration `buildServer` takes. */
export const configSchema = z.object(
  Object.fromEntries(keys.map((k) => [k, configVars[k].schema])) as { [K in keyof Vars]: Vars[K]['schema'] },
);
export type Config = z.infer<typeof configSchema>;

/** Environment variable name for each config key (used by docs and error messages). */
export const configEnvNames = Object.fromEntries(keys.map((k) => [k, configVars[k].env])) as Record<
  keyof Config,
  string
>;
const ENV = configEnvNames;

/** A check across settings that the schema of one setting cannot make; `message` is what start-up prints. */
export interface ConfigRule {
  /** True when the configuration breaks the rule. */
  broken(c: Config): boolean;
  message: string;
}

/** The checks across settings, run after every setting parsed; docs/operations.md lists their messages. */
export const configRules: readonly ConfigRule[] = [
  {
    broken: (c) => Boolean(c.secretKey && c.secretKeyFile),
    message: `set ${ENV.secretKey} or ${ENV.secretKeyFile}, not both`,
  },
  {
    broken: (c) => Boolean(c.secretKeyPrevious && c.secretKeyPreviousFile),
    message: `set ${ENV.secretKeyPrevious} or ${ENV.secretKeyPreviousFile}, not both`,
  },
  {
    broken: (c) => c.smsSender === 'http' && !c.smsHttpUrl,
    message: `${ENV.smsHttpUrl} is required when ${ENV.smsSender}=http`,
  },
  {
    broken: (c) => c.blobStore === 's3' && !c.s3Bucket,
    message: `${ENV.s3Bucket} is required when ${ENV.blobStore}=s3`,
  },
  {
    broken: (c) => Boolean(c.s3AccessKeyId) !== Boolean(c.s3SecretAccessKey),
    message: `set both ${ENV.s3AccessKeyId} and ${ENV.s3SecretAccessKey}, or neither`,
  },
  {
    broken: (c) => c.turnUrls.length > 0 && !c.turnSecret,
    message: `${ENV.turnSecret} is required when ${ENV.turnUrls} is set`,
  },
  {
    broken: (c) => Boolean(c.turnSecret) && c.turnUrls.length === 0,
    message: `${ENV.turnUrls} is required when ${ENV.turnSecret} is set`,
  },
];

/**
 * Variables earlier versions read and this one does not, with what replaced them: an operator who
 * still sets one is told at start instead of having it silently ignored.
 */
export const retiredConfigVars: Readonly<Record<string, string>> = {
  PARLEY_VERIFY_PER_NUMBER:
    'verification attempts are now limited per code request and per IP: use PARLEY_VERIFY_PER_SESSION and PARLEY_VERIFY_PER_IP',
};

/** One warning line for each retired variable set in `env`. */
export function retiredConfigWarnings(env: Record<string, string | undefined>): string[] {
  return Object.entries(retiredConfigVars)
    .filter(([name]) => env[name] !== undefined)
    .map(([name, why]) => `${name} is no longer read: ${why}`);
}

/** Read and validate configuration from an environment; throws with every bad variable named. */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  overrides: Partial<Config> = {},
): Config {
  const raw: Record<string, unknown> = {};
  for (const key of keys) {
    const v = env[ENV[key]];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = configSchema.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (i) => `${ENV[i.path[0] as keyof Config] ?? String(i.path[0])}: ${i.message}`,
    );
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  const broken = configRules.find((r) => r.broken(parsed.data));
  if (broken) throw new Error(`invalid configuration: ${broken.message}`);
  return parsed.data;
}
