/**
 * Server configuration (C19): one typed schema with defaults, read from environment variables and
 * validated at start. `docs/operations.md` documents every variable; secrets come from the
 * environment, never from committed files.
 */
import { z } from 'zod';

const intFrom = (def: number) => z.coerce.number().int().positive().default(def);
/** A per-day rate-limit figure: the limiter's arithmetic needs limit × window below 2^53 ms. */
const perDay = (def: number) => z.coerce.number().int().positive().max(10_000_000).default(def);
/** A comma-separated list of URLs in the environment (an array when passed as an override). */
const urlList = (pattern: RegExp, message: string) =>
  z
    .union([z.array(z.string()), z.string().transform((v) => v.split(',').map((u) => u.trim()).filter(Boolean))])
    .pipe(z.array(z.string().regex(pattern, message)));

/** The validated configuration `buildServer` takes. */
export const configSchema = z.object({
  /** PARLEY_PORT: TCP port for HTTP and WebSocket. */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /**
   * PARLEY_HOST: address to listen on. Unset means 127.0.0.1, this machine only: a server reachable
   * from elsewhere is a deliberate choice (`0.0.0.0` for every interface).
   */
  host: z.string().min(1).optional(),
  /** PARLEY_DATA_DIR: SQLite file, local blobs and other state of the embedded default. */
  dataDir: z.string().default('./data'),
  /** PARLEY_SECRET_KEY_FILE: file holding the key that encrypts server secrets in the database (base64 of 32 bytes); unset means `<dataDir>/secret.key`, made 0600 at first start. */
  secretKeyFile: z.string().min(1).optional(),
  /** PARLEY_SECRET_KEY: that key itself (base64 of 32 bytes), instead of a file. */
  secretKey: z.string().min(1).optional(),
  /** PARLEY_SECRET_KEY_PREVIOUS_FILE: during a key rotation, the file of the key being replaced; secrets under it are re-encrypted at start. */
  secretKeyPreviousFile: z.string().min(1).optional(),
  /** PARLEY_SECRET_KEY_PREVIOUS: the key being replaced itself, instead of a file. */
  secretKeyPrevious: z.string().min(1).optional(),
  /** PARLEY_DATABASE_URL: postgres://… to use PostgreSQL; unset means SQLite in the data folder. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** PARLEY_REDIS_URL: redis://… to share wake-ups, presence and rate limits across processes. */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  /** PARLEY_REDIS_PREFIX: namespace for every Redis key and channel (several deployments may share one Redis). */
  redisPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ - only').default('parley:'),
  /** PARLEY_SMS_SENDER: `dev-outbox` (codes readable at GET /dev/outbox) or `http` (an SMS gateway). */
  smsSender: z.enum(['dev-outbox', 'http']).default('dev-outbox'),
  /**
   * PARLEY_DEV_OUTBOX_TOKEN: the operator token `GET /dev/outbox` asks for (`Authorization: Bearer`);
   * unset means a random one, printed at start. Only used with the `dev-outbox` sender.
   */
  devOutboxToken: z.string().regex(/^[A-Za-z0-9_-]{16,200}$/, 'use 16 to 200 letters, digits, _ or -').optional(),
  /** PARLEY_SMS_HTTP_URL: the gateway endpoint for the `http` sender (POST {to, text}). */
  smsHttpUrl: z.string().url().optional(),
  /** PARLEY_SMS_HTTP_TOKEN: bearer token for the gateway. */
  smsHttpToken: z.string().optional(),
  /** PARLEY_WEB_DIR: built web client to serve at `/`; unset means apps/web/dist when it exists. */
  webDir: z.string().optional(),
  /** PARLEY_LOG_LEVEL: pino level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** PARLEY_METRICS_PORT: serve Prometheus metrics at GET /metrics on this port (a listener of its own, never the main port); unset means no metrics. */
  metricsPort: z.coerce.number().int().min(0).max(65535).optional(),
  /** PARLEY_METRICS_HOST: address of the metrics listener; loopback unless a scraper elsewhere must reach it. */
  metricsHost: z.string().min(1).default('127.0.0.1'),
  /** PARLEY_NODE_ID: this process's name in presence records; random when unset. */
  nodeId: z.string().optional(),
  /** PARLEY_SHUTDOWN_TIMEOUT_SECONDS: on SIGTERM/SIGINT, how long draining may take before the process exits 1 anyway. */
  shutdownTimeoutSeconds: z.coerce.number().positive().max(600).default(10),
  /** PARLEY_REGISTRATION_PER_NUMBER: code requests per number per hour. */
  registrationPerNumberPerHour: intFrom(5),
  /** PARLEY_REGISTRATION_PER_IP: code requests per IP per hour (an office behind one address must fit). */
  registrationPerIpPerHour: intFrom(200),
  /**
   * PARLEY_VERIFY_PER_SESSION: verification attempts per code request (session) per hour. Guesses are
   * bound to the session that requested the code, so nobody can spend another requester's budget.
   */
  verifyPerSessionPerHour: intFrom(10),
  /** PARLEY_VERIFY_PER_IP: verification attempts per IP address per hour, all sessions together. */
  verifyPerIpPerHour: intFrom(800),
  /** PARLEY_CODE_SWEEP_SECONDS: how often expired verification codes (and the numbers in them) are deleted. */
  codeSweepSeconds: intFrom(60),
  /** PARLEY_DISCOVERY_FIRST_DAY: previously unseen numbers an account may look up on its first day. */
  discoveryFirstDay: intFrom(300),
  /** PARLEY_DISCOVERY_FIRST_WEEK: total unseen numbers an account may have looked up by day 7 (growing evenly from the first day's allowance). */
  discoveryFirstWeek: intFrom(1000),
  /** PARLEY_DISCOVERY_PER_DAY: further unseen numbers per day after the first week. */
  discoveryPerDay: intFrom(10),
  /** PARLEY_DISCOVERY_PER_IP: unseen numbers looked up from one IP address per day, all accounts together (an office behind one address must fit). */
  discoveryPerIpPerDay: perDay(20_000),
  /** PARLEY_DISCOVERY_EVALUATIONS_PER_DAY: blinded numbers one account may have evaluated per day (bounds server work; cached contacts need none). */
  discoveryEvaluationsPerDay: perDay(5000),
  /** PARLEY_PROFILE_FETCHES_PER_TARGET: profile fetches per requester and target account per 10 minutes. */
  profileFetchesPerTarget: intFrom(6),
  /** PARLEY_PRESENCE_FETCHES_PER_TARGET: online / last-seen fetches per requester and target per 10 minutes. */
  presenceFetchesPerTarget: intFrom(60),
  /** PARLEY_USERNAME_LOOKUPS_PER_DAY: username lookups per account per day (exact match only; bounds guessing). */
  usernameLookupsPerDay: perDay(100),
  /** PARLEY_USERNAME_CHANGES_PER_DAY: username sets per account per day (a taken name is an answer too). */
  usernameChangesPerDay: perDay(10),
  /** PARLEY_DISCOVERY_ALARM_FACTOR: the daily alarm fires when today's lookups of unseen numbers exceed this many times the median of the previous 30 days. */
  discoveryAlarmFactor: intFrom(3),
  /** PARLEY_DISCOVERY_ALARM_FLOOR: ...and exceed this absolute count (a young server's median is near zero). */
  discoveryAlarmFloor: intFrom(10_000),
  /** PARLEY_KEYPACKAGE_CLAIMS_PER_TARGET: KeyPackage claims per requester and target per 10 minutes. */
  keyPackageClaimsPerTarget: intFrom(30),
  /** PARLEY_KEYPACKAGE_CLAIMS_PER_CLAIMER: other accounts' KeyPackages one account may claim per 10 minutes, all targets together (each account named in a claim counts one). */
  keyPackageClaimsPerClaimer: intFrom(300),
  /** PARLEY_DEVICE_LIST_FETCHES_PER_TARGET: device-list fetches of another account per requester and target per 10 minutes (every KeyPackage claim checks the list too). */
  deviceListFetchesPerTarget: intFrom(30),
  /** PARLEY_KT_PROOFS_PER_TARGET: key-transparency proofs one account may fetch per target account per 10 minutes. */
  ktProofsPerTarget: intFrom(6),
  /** PARLEY_KT_READS_PER_IP: public key-transparency reads (heads, consistency proofs) per IP address per 10 minutes. */
  ktReadsPerIp: intFrom(10_000),
  /** PARLEY_WS_PING_SECONDS: how often each WebSocket is pinged; a socket that missed the last pong, or had output waiting that none of left since the last ping, is dropped. */
  wsPingSeconds: z.coerce.number().positive().max(3600).default(30),
  /** PARLEY_WS_MAX_BUFFERED_BYTES: output (answers and pushes) one WebSocket may have waiting in the server before it is closed with 4008 as too slow. */
  wsMaxBufferedBytes: z.coerce.number().int().min(64 * 1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
  // ----- media (C4): see docs/media.md
  /** PARLEY_BLOB_STORE: where encrypted media is kept, `local` (the data folder) or `s3` (any S3-compatible store). */
  blobStore: z.enum(['local', 's3']).default('local'),
  /** PARLEY_S3_ENDPOINT: endpoint of an S3-compatible store (unset means the provider's default endpoint for the region). */
  s3Endpoint: z.string().url().optional(),
  /** PARLEY_S3_BUCKET: bucket for blobs; it must exist. Required with PARLEY_BLOB_STORE=s3. */
  s3Bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be a valid bucket name').optional(),
  /** PARLEY_S3_REGION: signing region. */
  s3Region: z.string().min(1).default('us-east-1'),
  /** PARLEY_S3_ACCESS_KEY_ID: access key; unset means the S3 client's default credential chain. */
  s3AccessKeyId: z.string().min(1).optional(),
  /** PARLEY_S3_SECRET_ACCESS_KEY: secret for PARLEY_S3_ACCESS_KEY_ID. */
  s3SecretAccessKey: z.string().min(1).optional(),
  /** PARLEY_S3_PREFIX: key prefix inside the bucket, so several deployments can share one bucket. */
  s3Prefix: z.string().regex(/^([A-Za-z0-9_.-]+\/)*$/, 'segments of [A-Za-z0-9_.-], each ending in /').default(''),
  /** PARLEY_S3_FORCE_PATH_STYLE: `true` for bucket-in-path URLs (most self-hosted stores); default true when an endpoint is set. */
  s3ForcePathStyle: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
  /** PARLEY_MEDIA_MAX_BYTES: largest blob (ciphertext) one upload may declare. */
  mediaMaxBytes: intFrom(100 * 1024 * 1024),
  /** PARLEY_MEDIA_QUOTA_BYTES: bytes one account may hold: stored blobs plus uploads in progress. */
  mediaQuotaBytes: intFrom(2 * 1024 * 1024 * 1024),
  /** PARLEY_MEDIA_TTL_DAYS: days a blob lives after its upload (downloads extend it, see docs/media.md). */
  mediaTtlDays: z.coerce.number().positive().max(3650).default(30),
  /** PARLEY_MEDIA_MAX_UPLOADS: unfinished uploads one account may have at once (each holds part objects until finished, discarded or expired). */
  mediaMaxUploads: intFrom(16),
  /** PARLEY_MEDIA_UPLOAD_TTL_HOURS: hours an unfinished upload is kept after its last chunk. */
  mediaUploadTtlHours: z.coerce.number().positive().max(24 * 30).default(24),
  /** PARLEY_MEDIA_SWEEP_SECONDS: how often expired blobs and abandoned uploads are deleted. */
  mediaSweepSeconds: intFrom(600),
  // ----- calls (C6): see docs/calls.md
  /** PARLEY_TURN_URLS: comma-separated `turn:`/`turns:` URLs handed to clients with short-lived credentials. */
  turnUrls: urlList(/^turns?:[^\s,]+$/, 'each URL must start with turn: or turns:').default([]),
  /** PARLEY_TURN_SECRET: the secret shared with the TURN server (coturn `use-auth-secret` + `static-auth-secret`). */
  turnSecret: z.string().min(16, 'use at least 16 characters').optional(),
  /** PARLEY_TURN_TTL_SECONDS: lifetime of minted TURN credentials; it must cover the longest call. */
  turnTtlSeconds: z.coerce.number().int().positive().max(7 * 86_400).default(3600),
  /** PARLEY_STUN_URLS: comma-separated `stun:`/`stuns:` URLs handed to clients (no credentials). */
  stunUrls: urlList(/^stuns?:[^\s,]+$/, 'each URL must start with stun: or stuns:').default([]),
  /** PARLEY_SFU: `on` hosts group calls in this process; `off` refuses them with `calls_disabled`. */
  sfu: z.union([z.boolean(), z.enum(['on', 'off', 'true', 'false']).transform((v) => v === 'on' || v === 'true')]).default(true),
  /** PARLEY_SFU_MAX_PARTICIPANTS: most devices in one group call. */
  sfuMaxParticipants: z.coerce.number().int().min(2).max(64).default(16),
  /** PARLEY_CALLS_PER_DEVICE: group calls one device may be in (or joining) at once. */
  callsPerDevice: intFrom(2),
  /** PARLEY_SFU_PORT_RANGE: UDP ports the SFU's ICE uses, `min-max` (open them in the firewall); unset means any. */
  sfuPortRange: z
    .union([
      z.tuple([z.number().int(), z.number().int()]),
      z.string().regex(/^[0-9]{1,5}-[0-9]{1,5}$/, 'must be min-max, e.g. 40000-40999').transform((v) => v.split('-').map(Number) as [number, number]),
    ])
    .refine(([lo, hi]) => lo >= 1024 && hi <= 65535 && lo <= hi, 'ports must satisfy 1024 <= min <= max <= 65535')
    .optional(),
  // ----- insider access (C14): see docs/admin.md
  /** PARLEY_ADMIN_BULK_ACCOUNTS: one admin reading more than this many distinct accounts within PARLEY_ADMIN_BULK_MINUTES raises an alert. */
  adminBulkAccounts: intFrom(20),
  /** PARLEY_ADMIN_BULK_MINUTES: the window of the bulk-access alert. */
  adminBulkMinutes: intFrom(10),
});
export type Config = z.infer<typeof configSchema>;

const ENV: Record<keyof Config, string> = {
  port: 'PARLEY_PORT',
  host: 'PARLEY_HOST',
  dataDir: 'PARLEY_DATA_DIR',
  secretKeyFile: 'PARLEY_SECRET_KEY_FILE',
  secretKey: 'PARLEY_SECRET_KEY',
  secretKeyPreviousFile: 'PARLEY_SECRET_KEY_PREVIOUS_FILE',
  secretKeyPrevious: 'PARLEY_SECRET_KEY_PREVIOUS',
  databaseUrl: 'PARLEY_DATABASE_URL',
  redisUrl: 'PARLEY_REDIS_URL',
  redisPrefix: 'PARLEY_REDIS_PREFIX',
  smsSender: 'PARLEY_SMS_SENDER',
  devOutboxToken: 'PARLEY_DEV_OUTBOX_TOKEN',
  smsHttpUrl: 'PARLEY_SMS_HTTP_URL',
  smsHttpToken: 'PARLEY_SMS_HTTP_TOKEN',
  webDir: 'PARLEY_WEB_DIR',
  logLevel: 'PARLEY_LOG_LEVEL',
  metricsPort: 'PARLEY_METRICS_PORT',
  metricsHost: 'PARLEY_METRICS_HOST',
  nodeId: 'PARLEY_NODE_ID',
  shutdownTimeoutSeconds: 'PARLEY_SHUTDOWN_TIMEOUT_SECONDS',
  registrationPerNumberPerHour: 'PARLEY_REGISTRATION_PER_NUMBER',
  registrationPerIpPerHour: 'PARLEY_REGISTRATION_PER_IP',
  verifyPerSessionPerHour: 'PARLEY_VERIFY_PER_SESSION',
  verifyPerIpPerHour: 'PARLEY_VERIFY_PER_IP',
  codeSweepSeconds: 'PARLEY_CODE_SWEEP_SECONDS',
  discoveryFirstDay: 'PARLEY_DISCOVERY_FIRST_DAY',
  discoveryFirstWeek: 'PARLEY_DISCOVERY_FIRST_WEEK',
  discoveryPerDay: 'PARLEY_DISCOVERY_PER_DAY',
  discoveryPerIpPerDay: 'PARLEY_DISCOVERY_PER_IP',
  discoveryEvaluationsPerDay: 'PARLEY_DISCOVERY_EVALUATIONS_PER_DAY',
  profileFetchesPerTarget: 'PARLEY_PROFILE_FETCHES_PER_TARGET',
  presenceFetchesPerTarget: 'PARLEY_PRESENCE_FETCHES_PER_TARGET',
  usernameLookupsPerDay: 'PARLEY_USERNAME_LOOKUPS_PER_DAY',
  usernameChangesPerDay: 'PARLEY_USERNAME_CHANGES_PER_DAY',
  discoveryAlarmFactor: 'PARLEY_DISCOVERY_ALARM_FACTOR',
  discoveryAlarmFloor: 'PARLEY_DISCOVERY_ALARM_FLOOR',
  keyPackageClaimsPerTarget: 'PARLEY_KEYPACKAGE_CLAIMS_PER_TARGET',
  keyPackageClaimsPerClaimer: 'PARLEY_KEYPACKAGE_CLAIMS_PER_CLAIMER',
  deviceListFetchesPerTarget: 'PARLEY_DEVICE_LIST_FETCHES_PER_TARGET',
  ktProofsPerTarget: 'PARLEY_KT_PROOFS_PER_TARGET',
  ktReadsPerIp: 'PARLEY_KT_READS_PER_IP',
  wsPingSeconds: 'PARLEY_WS_PING_SECONDS',
  wsMaxBufferedBytes: 'PARLEY_WS_MAX_BUFFERED_BYTES',
  blobStore: 'PARLEY_BLOB_STORE',
  s3Endpoint: 'PARLEY_S3_ENDPOINT',
  s3Bucket: 'PARLEY_S3_BUCKET',
  s3Region: 'PARLEY_S3_REGION',
  s3AccessKeyId: 'PARLEY_S3_ACCESS_KEY_ID',
  s3SecretAccessKey: 'PARLEY_S3_SECRET_ACCESS_KEY',
  s3Prefix: 'PARLEY_S3_PREFIX',
  s3ForcePathStyle: 'PARLEY_S3_FORCE_PATH_STYLE',
  mediaMaxBytes: 'PARLEY_MEDIA_MAX_BYTES',
  mediaQuotaBytes: 'PARLEY_MEDIA_QUOTA_BYTES',
  mediaTtlDays: 'PARLEY_MEDIA_TTL_DAYS',
  mediaMaxUploads: 'PARLEY_MEDIA_MAX_UPLOADS',
  mediaUploadTtlHours: 'PARLEY_MEDIA_UPLOAD_TTL_HOURS',
  mediaSweepSeconds: 'PARLEY_MEDIA_SWEEP_SECONDS',
  turnUrls: 'PARLEY_TURN_URLS',
  turnSecret: 'PARLEY_TURN_SECRET',
  turnTtlSeconds: 'PARLEY_TURN_TTL_SECONDS',
  stunUrls: 'PARLEY_STUN_URLS',
  sfu: 'PARLEY_SFU',
  sfuMaxParticipants: 'PARLEY_SFU_MAX_PARTICIPANTS',
  callsPerDevice: 'PARLEY_CALLS_PER_DEVICE',
  sfuPortRange: 'PARLEY_SFU_PORT_RANGE',
  adminBulkAccounts: 'PARLEY_ADMIN_BULK_ACCOUNTS',
  adminBulkMinutes: 'PARLEY_ADMIN_BULK_MINUTES',
};

/** Environment variable name for each config key (used by docs and error messages). */
export const configEnvNames = ENV;

/** Read and validate configuration from an environment; throws with every bad variable named. */
export function loadConfig(env: Record<string, string | undefined> = process.env, overrides: Partial<Config> = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(ENV)) {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = v;
  }
  const parsed = configSchema.safeParse({ ...raw, ...overrides });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${ENV[i.path[0] as keyof Config] ?? String(i.path[0])}: ${i.message}`);
    throw new Error(`invalid configuration: ${lines.join('; ')}`);
  }
  if (parsed.data.secretKey && parsed.data.secretKeyFile) throw new Error('invalid configuration: set PARLEY_SECRET_KEY or PARLEY_SECRET_KEY_FILE, not both');
  if (parsed.data.secretKeyPrevious && parsed.data.secretKeyPreviousFile) throw new Error('invalid configuration: set PARLEY_SECRET_KEY_PREVIOUS or PARLEY_SECRET_KEY_PREVIOUS_FILE, not both');
  if (parsed.data.smsSender === 'http' && !parsed.data.smsHttpUrl) throw new Error('invalid configuration: PARLEY_SMS_HTTP_URL is required when PARLEY_SMS_SENDER=http');
  if (parsed.data.blobStore === 's3' && !parsed.data.s3Bucket) throw new Error('invalid configuration: PARLEY_S3_BUCKET is required when PARLEY_BLOB_STORE=s3');
  if (Boolean(parsed.data.s3AccessKeyId) !== Boolean(parsed.data.s3SecretAccessKey)) throw new Error('invalid configuration: set both PARLEY_S3_ACCESS_KEY_ID and PARLEY_S3_SECRET_ACCESS_KEY, or neither');
  if (parsed.data.turnUrls.length > 0 && !parsed.data.turnSecret) throw new Error('invalid configuration: PARLEY_TURN_SECRET is required when PARLEY_TURN_URLS is set');
  if (parsed.data.turnSecret && parsed.data.turnUrls.length === 0) throw new Error('invalid configuration: PARLEY_TURN_URLS is required when PARLEY_TURN_SECRET is set');
  return parsed.data;
}
