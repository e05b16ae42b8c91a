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
  return parsed.data;
}
