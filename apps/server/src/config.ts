import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parseConfig } from '@chorus/service-kit';

const port = z.coerce.number().int().min(0).max(65_535);
const positiveInt = z.coerce.number().int().positive();

/** Every variable the server reads; .env.example documents each (a test checks). */
export const ServerConfigSchema = z
  .strictObject({
    ENVIRONMENT: z.enum(['development', 'production', 'test']).default('development'),
    HOST: z.string().min(1).default('0.0.0.0'),
    PORT: port.default(8080),
    WORKERS: z.coerce.number().int().min(0).max(256).default(availableParallelism()),
    MAX_CLIENTS: positiveInt.default(10_000),
    MAX_FRAME_BYTES: z.coerce.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
    /** Where the embedded SQLite database lives (created on first start). */
    DATA_DIR: z.string().min(1).default('./data'),
    /** PostgreSQL instead of SQLite: for ephemeral disks or several nodes. */
    DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'DATABASE_URL must be a postgres:// or postgresql:// URL' }).optional(),
    /** SQLite durability: normal survives a process crash, full also an OS crash or power loss. */
    SQLITE_SYNCHRONOUS: z.enum(['normal', 'full']).default('normal'),
    /** How often the server pings each connection; one without a pong by the next ping is dropped. */
    HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
    /** Bytes queued for a client that does not read before it is disconnected (4500: reconnect and resume). */
    MAX_BUFFERED_BYTES: z.coerce.number().int().min(16 * 1024).default(1024 * 1024),
    /** Frames per second each connection may send on average, and the burst above it. */
    MESSAGE_RATE: z.coerce.number().positive().default(20),
    MESSAGE_BURST: z.coerce.number().int().positive().default(40),
    /** Connections at once from one address, over the whole server. */
    MAX_CONNECTIONS_PER_IP: positiveInt.default(50),
    /** WebSocket upgrades per minute from one address (per worker). */
    UPGRADES_PER_MINUTE_PER_IP: positiveInt.default(120),
    /**
     * Origins browsers may connect from, comma-separated (e.g. https://chat.example.com).
     * Empty: in development any localhost origin; in production no browser origin.
     */
    ALLOWED_ORIGINS: z
      .string()
      .default('')
      .transform((list) => list.split(',').map((o) => o.trim()).filter((o) => o !== '')),
  })
  .refine((c) => c.REDIS_URL === undefined, {
    path: ['REDIS_URL'],
    message: 'the Redis backend is not available in this version yet; unset REDIS_URL',
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
  return parseConfig(ServerConfigSchema, ownVariables(env));
}
