import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import dotenv from 'dotenv';

/**
 * Loads `.env`, or `.env.prod` when ENVIRONMENT=production, from `dir` into
 * `env`. Variables already set in `env` win over the file. Returns the file
 * that was read, or null when there was none.
 */
export function loadEnvFile(dir: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const file = resolve(dir, env.ENVIRONMENT === 'production' ? '.env.prod' : '.env');
  if (!existsSync(file)) return null;
  dotenv.config({ path: file, processEnv: env as Record<string, string>, quiet: true, override: false });
  return file;
}
