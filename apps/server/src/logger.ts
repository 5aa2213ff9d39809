import { pino, type Logger } from 'pino';
import type { ServerConfig } from './config.js';

/** The server's JSON logger; `role` tells the primary and each worker apart in the lines. */
export function createLogger(config: Pick<ServerConfig, 'LOG_LEVEL'>, bindings: Record<string, unknown>): Logger {
  return pino({ level: config.LOG_LEVEL, base: { pid: process.pid, ...bindings } });
}
