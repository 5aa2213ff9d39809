import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { Attachments } from './attachments.js';
import { DiskFileStore } from './disk-file-store.js';
import { FileCatalog } from './file-catalog.js';
import { FileLinks } from './file-links.js';
import type { FileStore } from './file-store.js';
import { openFilesDatabase } from './files-database.js';
import { PostgresFileStore } from './postgres-file-store.js';

/** Where files are kept under this configuration: FILE_STORE, else postgres with several nodes, else disk. */
export function fileStoreKind(config: Pick<ServerConfig, 'FILE_STORE' | 'REDIS_URL'>): 'disk' | 'postgres' {
  return config.FILE_STORE ?? (config.REDIS_URL ? 'postgres' : 'disk');
}

/**
 * The composition of files for one process: a database connection for the
 * catalog (the storage has migrated it), the configured store, the signer.
 * `close` releases both.
 */
export async function openAttachments(
  config: ServerConfig,
  options: { clock?: () => number; onError: (what: string, err: unknown) => void },
): Promise<{ attachments: Attachments; close: () => Promise<void> }> {
  const db = await openFilesDatabase({ url: config.DATABASE_URL, sqliteFile: join(config.DATA_DIR, 'chorus.db') });
  const store: FileStore =
    fileStoreKind(config) === 'postgres' ? new PostgresFileStore(db) : new DiskFileStore(join(config.DATA_DIR, 'files'));
  const attachments = new Attachments({
    catalog: new FileCatalog(db),
    store,
    links: new FileLinks(config.AUTH_SECRET, {
      urlTtlMs: config.FILE_URL_TTL_SECONDS * 1000,
      ticketTtlMs: config.TOKEN_TTL_SECONDS * 1000,
    }),
    maxBytes: config.MAX_UPLOAD_BYTES,
    maxFilesPerMessage: config.MAX_FILES_PER_MESSAGE,
    uploadTtlMs: config.UPLOAD_TTL_SECONDS * 1000,
    clock: options.clock ?? Date.now,
    onError: options.onError,
  });
  return {
    attachments,
    async close() {
      await store.close();
      await db.destroy();
    },
  };
}
