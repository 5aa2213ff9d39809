import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import dotenv from 'dotenv';

/** What loadEnvFile did: the file this ENVIRONMENT reads, and whether it was there. */
export interface EnvFileResult {
  /** The absolute path of `.env`, or of `.env.prod` when ENVIRONMENT=production. */
  readonly path: string;
  readonly loaded: boolean;
}

/**
 * Loads `.env`, or `.env.prod` when ENVIRONMENT=production, from `dir` into
 * `env`. Variables already set in `env` win over the file. Says which file it
 * looked for and whether it was there, so that the app can log it: a
 * production host without its `.env.prod` otherwise starts on the defaults
 * with nothing saying so.
 */
export function loadEnvFile(dir: string, env: NodeJS.ProcessEnv = process.env): EnvFileResult {
  const path = resolve(dir, env.ENVIRONMENT === 'production' ? '.env.prod' : '.env');
  if (!existsSync(path)) return { path, loaded: false };
  dotenv.config({ path, processEnv: env as Record<string, string>, quiet: true, override: false });
  return { path, loaded: true };
}

/** The start-up log line for a loadEnvFile result: fields, and a sentence a person reads. */
export function envFileLogLine(result: EnvFileResult): { fields: { envFile: string; loaded: boolean }; message: string } {
  const fields = { envFile: result.path, loaded: result.loaded };
  return result.loaded
    ? { fields, message: `settings from ${result.path} (environment variables win over it)` }
    : { fields, message: `no ${result.path}: settings from environment variables and defaults only` };
}
