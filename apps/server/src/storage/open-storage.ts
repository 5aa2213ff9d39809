import { join } from 'node:path';
import type { SqliteSynchronous } from './sqlite-storage.js';
import type { Storage } from './storage.js';

export interface OpenStorageOptions {
  /** A PostgreSQL URL (DATABASE_URL); when absent, an SQLite file under dataDir. */
  readonly databaseUrl?: string | undefined;
  /** Where the SQLite file lives (`${dataDir}/chorus.db`), created on first start. */
  readonly dataDir: string;
  /** SQLite's durability (see SqliteSynchronous); default `normal`. */
  readonly sqliteSynchronous?: SqliteSynchronous | undefined;
  /** SQLite: checkpoint on a thread of its own (for the process that writes the messages); default false. */
  readonly sqliteBackgroundCheckpoints?: boolean | undefined;
  /** SQLite: told when a background checkpoint fails. */
  readonly onCheckpointError?: ((message: string) => void) | undefined;
}

/**
 * Opens the configured storage and brings its schema up to date: PostgreSQL
 * when a URL is given, else SQLite at `${dataDir}/chorus.db`. Each engine's
 * driver is loaded only when it is the one configured: a process on SQLite
 * never loads pg, one on PostgreSQL never loads better-sqlite3.
 */
export async function openStorage(options: OpenStorageOptions): Promise<Storage> {
  const storage = options.databaseUrl
    ? new (await import('./postgres-storage.js')).PostgresStorage({ url: options.databaseUrl })
    : new (await import('./sqlite-storage.js')).SqliteStorage({
        file: join(options.dataDir, 'chorus.db'),
        synchronous: options.sqliteSynchronous ?? 'normal',
        backgroundCheckpoints: options.sqliteBackgroundCheckpoints ?? false,
        ...(options.onCheckpointError ? { onCheckpointError: options.onCheckpointError } : {}),
      });
  try {
    await storage.migrate();
  } catch (error) {
    await storage.close().catch(() => {});
    throw error;
  }
  return storage;
}
