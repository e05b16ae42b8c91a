/**
 * Server configuration (C19): one typed schema with defaults, read from environment variables and
 * validated at start. `docs/operations.md` documents every variable; secrets come from the
 * environment, never from committed files.
 */
import { z } from 'zod';

const intFrom = (def: number) => z.coerce.number().int().positive().default(def);

/** The validated configuration `buildServer` takes. */
export const configSchema = z.object({
  /** PARLEY_PORT: TCP port for HTTP and WebSocket. */
  port: z.coerce.number().int().min(0).max(65535).default(8080),
  /** PARLEY_HOST: address to listen on. */
  host: z.string().default('0.0.0.0'),
  /** PARLEY_DATA_DIR: SQLite file, local blobs and other state of the embedded default. */
  dataDir: z.string().default('./data'),
  /** PARLEY_DATABASE_URL: postgres://… to use PostgreSQL; unset means SQLite in the data folder. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  /** PARLEY_REDIS_URL: redis://… to share wake-ups, presence and rate limits across processes. */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must be a redis:// URL').optional(),
  /** PARLEY_REDIS_PREFIX: namespace for every Redis key and channel (several deployments may share one Redis). */
  redisPrefix: z.string().regex(/^[A-Za-z0-9:_-]{1,64}$/, 'letters, digits, : _ - only').default('parley:'),
  /** PARLEY_SMS_SENDER: `dev-outbox` (codes readable at GET /dev/outbox) or `http` (an SMS gateway). */
  smsSender: z.enum(['dev-outbox', 'http']).default('dev-outbox'),
  /** PARLEY_SMS_HTTP_URL: the gateway endpoint for the `http` sender (POST {to, text}). */
  smsHttpUrl: z.string().url().optional(),
  /** PARLEY_SMS_HTTP_TOKEN: bearer token for the gateway. */
  smsHttpToken: z.string().optional(),
  /** PARLEY_WEB_DIR: built web client to serve at `/`; unset means apps/web/dist when it exists. */
  webDir: z.string().optional(),
  /** PARLEY_LOG_LEVEL: pino level. */
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** PARLEY_NODE_ID: this process's name in presence records; random when unset. */
  nodeId: z.string().optional(),
  /** PARLEY_REGISTRATION_PER_NUMBER: code requests per number per hour. */
  registrationPerNumberPerHour: intFrom(5),
  /** PARLEY_REGISTRATION_PER_IP: code requests per IP per hour (an office behind one address must fit). */
  registrationPerIpPerHour: intFrom(200),
  /** PARLEY_VERIFY_PER_NUMBER: verification attempts per number per hour. */
  verifyPerNumberPerHour: intFrom(20),
  /** PARLEY_LOOKUP_PER_ACCOUNT: exact-number lookups per account per day. */
  lookupPerAccountPerDay: intFrom(300),
  /** PARLEY_KEYPACKAGE_CLAIMS_PER_TARGET: KeyPackage claims per requester and target per 10 minutes. */
  keyPackageClaimsPerTarget: intFrom(30),
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
  /** PARLEY_MEDIA_UPLOAD_TTL_HOURS: hours an unfinished upload is kept after its last chunk. */
  mediaUploadTtlHours: z.coerce.number().positive().max(24 * 30).default(24),
  /** PARLEY_MEDIA_SWEEP_SECONDS: how often expired blobs and abandoned uploads are deleted. */
  mediaSweepSeconds: intFrom(600),
});
export type Config = z.infer<typeof configSchema>;

const ENV: Record<keyof Config, string> = {
  port: 'PARLEY_PORT',
  host: 'PARLEY_HOST',
  dataDir: 'PARLEY_DATA_DIR',
  databaseUrl: 'PARLEY_DATABASE_URL',
  redisUrl: 'PARLEY_REDIS_URL',
  redisPrefix: 'PARLEY_REDIS_PREFIX',
  smsSender: 'PARLEY_SMS_SENDER',
  smsHttpUrl: 'PARLEY_SMS_HTTP_URL',
  smsHttpToken: 'PARLEY_SMS_HTTP_TOKEN',
  webDir: 'PARLEY_WEB_DIR',
  logLevel: 'PARLEY_LOG_LEVEL',
  nodeId: 'PARLEY_NODE_ID',
  registrationPerNumberPerHour: 'PARLEY_REGISTRATION_PER_NUMBER',
  registrationPerIpPerHour: 'PARLEY_REGISTRATION_PER_IP',
  verifyPerNumberPerHour: 'PARLEY_VERIFY_PER_NUMBER',
  lookupPerAccountPerDay: 'PARLEY_LOOKUP_PER_ACCOUNT',
  keyPackageClaimsPerTarget: 'PARLEY_KEYPACKAGE_CLAIMS_PER_TARGET',
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
  mediaUploadTtlHours: 'PARLEY_MEDIA_UPLOAD_TTL_HOURS',
  mediaSweepSeconds: 'PARLEY_MEDIA_SWEEP_SECONDS',
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
  if (parsed.data.smsSender === 'http' && !parsed.data.smsHttpUrl) throw new Error('invalid configuration: PARLEY_SMS_HTTP_URL is required when PARLEY_SMS_SENDER=http');
  if (parsed.data.blobStore === 's3' && !parsed.data.s3Bucket) throw new Error('invalid configuration: PARLEY_S3_BUCKET is required when PARLEY_BLOB_STORE=s3');
  if (Boolean(parsed.data.s3AccessKeyId) !== Boolean(parsed.data.s3SecretAccessKey)) throw new Error('invalid configuration: set both PARLEY_S3_ACCESS_KEY_ID and PARLEY_S3_SECRET_ACCESS_KEY, or neither');
  return parsed.data;
}
