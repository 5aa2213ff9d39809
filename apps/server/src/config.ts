import { defaultWorkers } from './cpu-quota.js';
import { z } from 'zod';
import { ConfigError, parseConfig } from '@chorus/service-kit';
import { parseTrustProxy } from './trust-proxy.js';
import { MAX_FILES_PER_MESSAGE } from '@chorus/protocol';

const port = z.coerce.number().int().min(0).max(65_535);

/**
 * The AUTH_SECRET used when none is set, in development and tests only:
 * production refuses to start with it (or without one).
 */
export const DEVELOPMENT_AUTH_SECRET = 'chorus-development-auth-secret-never-use-in-production';
export const AUTH_SECRET_MIN_LENGTH = 32;
const positiveInt = z.coerce.number().int().positive();

/** Every variable the server reads; .env.example documents each (a test checks). */
export const ServerConfigSchema = z
  .strictObject({
    ENVIRONMENT: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: port.default(8080),
    /** Default: one per CPU the process may use, by its container's CPU quota when there is one (cpu-quota.ts). */
    WORKERS: z.coerce
      .number()
      .int()
      .min(0)
      .max(256)
      .default(() => defaultWorkers().workers),
    MAX_CLIENTS: positiveInt.default(10_000),
    MAX_FRAME_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(16 * 1024 * 1024)
      .default(64 * 1024),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Prometheus metrics on a port of their own (unset: off); served by the primary in a cluster. */
    METRICS_PORT: port.optional(),
    METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    /** When set, a scrape sends `Authorization: Bearer <METRICS_TOKEN>`. */
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Several server nodes as one chat: the shared state and live traffic in Redis (needs DATABASE_URL). */
    REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'REDIS_URL must be a redis:// or rediss:// URL' }).optional(),
    /**
     * With REDIS_URL: how long a node's permits and presence outlive it when it
     * stops renewing them (killed, or cut off from Redis); renewed every quarter of it.
     */
    NODE_LEASE_MS: z.coerce.number().int().min(400).max(300_000).default(10_000),
    /** Where the embedded SQLite database lives (created on first start). */
    DATA_DIR: z.string().min(1).default('./data'),
    /** PostgreSQL instead of SQLite: for ephemeral disks or several nodes. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'DATABASE_URL must be a postgres:// or postgresql:// URL' }).optional(),
    /** SQLite durability: normal survives a process crash, full also an OS crash or power loss. */
    SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
    /** How often the server pings each connection; one without a pong by the next ping is dropped. */
    HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    /** Bytes queued for a client that does not read before it is disconnected (4500: reconnect and resume). */
    MAX_BUFFERED_BYTES: z.coerce
      .number()
      .int()
      .min(16 * 1024)
      .default(1024 * 1024),
    /** Frames per second each connection may send on average, and the burst above it. */
    MESSAGE_RATE: z.coerce.number().positive().default(20),
    MESSAGE_BURST: z.coerce.number().int().positive().default(40),
    /** Connections at once from one address, over the whole server. */
    MAX_CONNECTIONS_PER_IP: positiveInt.default(50),
    /** WebSocket upgrades per minute from one address (per worker; with REDIS_URL, over every node). */
    UPGRADES_PER_MINUTE_PER_IP: positiveInt.default(120),
    /**
     * The reverse proxies whose X-Forwarded-For names the client's address (for the
     * per-address limits and the logs): their addresses or CIDR ranges, comma-separated,
     * or how many there are. Unset: nobody; the socket's peer is the client.
     */
    TRUST_PROXY: z
      .string()
      .optional()
      .transform((value, ctx) => {
        try {
          return parseTrustProxy(value);
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: (err as Error).message });
          return z.NEVER;
        }
      }),
    /**
     * Where people chat: the web client's address (the client app), linked from
     * this server's own page at / (a person who opens the server's port by
     * mistake finds the way there). Optional.
     */
    CLIENT_URL: z
      .url({ protocol: /^https?$/, error: 'CLIENT_URL must be an http:// or https:// URL, e.g. http://localhost:3000' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    /**
     * Origins browsers may connect from, comma-separated (e.g. https://chat.example.com).
     * Empty: in development any localhost origin; in production no browser origin.
     */
    ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((list) =>
        list
          .split(',')
          .map((o) => o.trim())
          .filter((o) => o !== ''),
      ),
    /** open: guests may take any name no account owns; required: every connection needs a token. */
    AUTH_MODE: z.enum(['open', 'required']).default('open'),
    /** Signs session tokens; at least 32 characters; production refuses the development default. */
    AUTH_SECRET: z.string().default(DEVELOPMENT_AUTH_SECRET),
    /** How long a session token is valid after sign-in. */
    TOKEN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(366 * 24 * 3600)
      .default(7 * 24 * 3600),
    /** Failed sign-ins per account per AUTH_RATE_WINDOW_SECONDS before 429 (per worker; with REDIS_URL, over every node). */
    AUTH_FAILURES_PER_ACCOUNT: positiveInt.default(10),
    /** Failed sign-ins per address per window, over all accounts (per worker; with REDIS_URL, over every node). */
    AUTH_FAILURES_PER_IP: positiveInt.default(100),
    /** Registrations per address per window (per worker; with REDIS_URL, over every node). */
    AUTH_REGISTRATIONS_PER_IP: positiveInt.default(20),
    /**
     * Where uploaded files are kept: `disk` (under DATA_DIR/files) or `postgres`
     * (in DATABASE_URL, shared by several nodes). Default: postgres with
     * REDIS_URL (several nodes), else disk.
     */
    FILE_STORE: z.enum(['disk', 'postgres']).optional(),
    /** Largest file one upload may be, in bytes (413 above it). */
    MAX_UPLOAD_BYTES: z.coerce
      .number()
      .int()
      .min(1024)
      .max(4 * 1024 * 1024 * 1024)
      .default(25 * 1024 * 1024),
    /** Files one message may share. */
    MAX_FILES_PER_MESSAGE: z.coerce.number().int().min(1).max(MAX_FILES_PER_MESSAGE).default(MAX_FILES_PER_MESSAGE),
    /** Uploads per minute per client id (per worker; 429 with Retry-After above it). */
    UPLOADS_PER_MINUTE: positiveInt.default(30),
    /** How long an upload that no message shares is kept before it is removed. */
    UPLOAD_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(30 * 24 * 3600)
      .default(24 * 3600),
    /** How long a file link in a message, a history page or a resume stays valid. */
    FILE_URL_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(3600),
    /** Largest image (width x height) that gets a thumbnail; larger ones are refused (decompression bombs). */
    MAX_IMAGE_PIXELS: z.coerce.number().int().min(1_000_000).max(1_000_000_000).default(50_000_000),
    /** The server's public http(s) address, put before file links that text clients see; unset: the links are paths. */
    PUBLIC_URL: z
      .url({ protocol: /^https?$/, error: 'PUBLIC_URL must be an http:// or https:// URL, e.g. http://localhost:8080' })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    AUTH_RATE_WINDOW_SECONDS: z.coerce
      .number()
      .int()
      .min(1)
      .max(24 * 3600)
      .default(15 * 60),
  })
  .refine((c) => c.REDIS_URL === undefined || c.DATABASE_URL !== undefined, {
    path: ['REDIS_URL'],
    message:
      'several nodes need a database they all reach: set DATABASE_URL (PostgreSQL) as well; a SQLite file cannot be shared between machines',
  })
  .refine((c) => c.FILE_STORE !== 'postgres' || c.DATABASE_URL !== undefined, {
    path: ['FILE_STORE'],
    message: 'FILE_STORE=postgres keeps files in the database: set DATABASE_URL (PostgreSQL) as well',
  })
  .refine((c) => !(c.FILE_STORE === 'disk' && c.REDIS_URL !== undefined), {
    path: ['FILE_STORE'],
    message: 'several nodes (REDIS_URL) cannot share one disk: use FILE_STORE=postgres',
  })
  .superRefine((c, ctx) => {
    if (c.AUTH_SECRET.length < AUTH_SECRET_MIN_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_SECRET'],
        message: `must be at least ${AUTH_SECRET_MIN_LENGTH} characters (e.g. openssl rand -base64 48)`,
      });
    } else if (c.ENVIRONMENT === 'production' && c.AUTH_SECRET === DEVELOPMENT_AUTH_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH_SECRET'],
        message: 'production needs its own secret: AUTH_SECRET is unset or the development default (e.g. openssl rand -base64 48)',
      });
    }
  });

export type ServerConfig = Readonly<z.output<typeof ServerConfigSchema>>;

/** The variables this schema knows, picked from `env` (the rest of the environment is not ours). */
function ownVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(ServerConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') out[key] = value;
  }
  return out;
}

/** Validates the server's configuration once; throws a ConfigError with one line per problem. */
export function loadServerConfig(env: NodeJS.ProcessEnv): ServerConfig {
  try {
    return parseConfig(ServerConfigSchema, ownVariables(env));
  } catch (err) {
    // The problem lines quote each bad value; never a secret's.
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError(err.problems.map((p) => (p.startsWith('AUTH_SECRET:') ? p.replace(/ \(got .*\)$/s, '') : p)));
  }
}
