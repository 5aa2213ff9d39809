import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { parseConfig } from '@chorus/service-kit';

const DEFAULT_STATIC_DIR = fileURLToPath(new URL('../../../static/', import.meta.url));

/** Every variable the client app reads; .env.example documents each (a test checks). */
export const ClientConfigSchema = z.strictObject({
  ENVIRONMENT: z.enum(['development', 'production', 'test']).default('development'),
  HOST: z.string().min(1).default('0.0.0.0'),
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  /** The chat server's base WebSocket URL, as the browser must reach it. */
  SERVER: z
    .url({ protocol: /^wss?$/, error: 'SERVER must be a ws:// or wss:// URL, e.g. ws://localhost:8080' })
    .transform((url) => url.replace(/\/+$/, ''))
    .default('ws://localhost:8080'),
  STATIC_DIR: z.string().min(1).default(DEFAULT_STATIC_DIR),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export type ClientConfig = Readonly<z.output<typeof ClientConfigSchema>>;

/** Validates the client app's configuration once; throws a ConfigError with one line per problem. */
export function loadClientConfig(env: NodeJS.ProcessEnv): ClientConfig {
  const own: Record<string, string> = {};
  for (const key of Object.keys(ClientConfigSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') own[key] = value;
  }
  const config = parseConfig(ClientConfigSchema, own);
  if (config.ENVIRONMENT === 'production' && /^ws:\/\/(localhost|127\.)/.test(config.SERVER)) {
    throw new Error('SERVER points at localhost in production: set it to the public chat server URL (wss://...)');
  }
  return config;
}
