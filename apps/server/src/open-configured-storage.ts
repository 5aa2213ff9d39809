import type { Logger } from 'pino';
import type { ServerConfig } from './config.js';
import { openStorage } from './storage/open-storage.js';
import type { Storage } from './storage/storage.js';

/**
 * Opens the configured storage (SQLite under DATA_DIR, or PostgreSQL at
 * DATABASE_URL). `writesMessages`: this process is the one that appends the
 * messages (the single process, or the primary), so SQLite checkpoints on a
 * thread of its own rather than inside its commits.
 */
export function openConfiguredStorage(config: ServerConfig, options: { writesMessages?: boolean; log?: Logger } = {}): Promise<Storage> {
  const { log } = options;
  return openStorage({
    databaseUrl: config.DATABASE_URL,
    dataDir: config.DATA_DIR,
    sqliteSynchronous: config.SQLITE_SYNCHRONOUS,
    sqliteBackgroundCheckpoints: options.writesMessages ?? false,
    ...(log ? { onCheckpointError: (message: string) => log.warn({ error: message }, 'storage: a background checkpoint failed') } : {}),
  });
}
