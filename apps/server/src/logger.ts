import { pino, type Logger } from 'pino';
import { logOptions } from '@chorus/service-kit';
import type { ServerConfig } from './config.js';

/**
 * The server's logger; `role` tells the primary and each worker apart in the
 * lines. JSON lines, or readable ones in development on a terminal
 * (`terminal`: whether stdout is one).
 */
export function createLogger(
  config: Pick<ServerConfig, 'LOG_LEVEL' | 'ENVIRONMENT'>,
  bindings: Record<string, unknown>,
  terminal = false,
): Logger {
  return pino({ ...logOptions('server', config, terminal), base: { pid: process.pid, ...bindings } });
}
