import type { ServerConfig } from '../config.js';
import { Accounts, type AccountStorage } from './accounts.js';
import type { AttemptCounter } from './attempt-counter.js';

/** The Accounts of a serving process, as the configuration says (AUTH_* and TOKEN_TTL_SECONDS). */
export function accountsFromConfig(
  config: ServerConfig,
  storage: AccountStorage,
  options: {
    clock?: (() => number) | undefined;
    onBackgroundError?: (err: unknown) => void;
    /** Several nodes: where the attempt counts are shared (otherwise each process counts for itself). */
    attemptCounter?: (name: string, max: number, windowMs: number) => AttemptCounter;
  } = {},
): Accounts {
  return new Accounts({
    storage,
    secret: config.AUTH_SECRET,
    tokenTtlMs: config.TOKEN_TTL_SECONDS * 1000,
    mode: config.AUTH_MODE,
    limits: {
      failuresPerAccount: config.AUTH_FAILURES_PER_ACCOUNT,
      failuresPerIp: config.AUTH_FAILURES_PER_IP,
      registrationsPerIp: config.AUTH_REGISTRATIONS_PER_IP,
      windowMs: config.AUTH_RATE_WINDOW_SECONDS * 1000,
    },
    ...(options.clock && { clock: options.clock }),
    ...(options.onBackgroundError && { onBackgroundError: options.onBackgroundError }),
    ...(options.attemptCounter && { attemptCounter: options.attemptCounter }),
  });
}
