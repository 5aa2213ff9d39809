import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';

/** The tables of migration 0007_attachments, as this folder reads and writes them. */
export interface FilesDatabase {
  files: {
    id: string;
    owner: string;
    name: string;
    type: string;
    size: number;
    width: number | null;
    height: number | null;
    has_thumbnail: number;
    created_at: number;
    message_id: string | null;
    message_ref: string | null;
    conversation: string | null;
  };
  file_chunks: { file_key: string; n: number; data: Buffer };
}

const INT8_OID = 20;

/**
 * A connection of its own to the chat database (its schema already migrated
 * by the storage): PostgreSQL at `url`, or the SQLite file. Uploads are
 * written by the worker that took them, not through the primary's message
 * writer: they are few, and SQLite's busy timeout lets processes take turns.
 * The driver is loaded only for the engine in use (a process idles lighter).
 */
export async function openFilesDatabase(options: {
  url?: string | undefined;
  sqliteFile: string;
  schema?: string;
}): Promise<Kysely<FilesDatabase>> {
  if (options.url) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({
      connectionString: options.url,
      max: 4,
      connectionTimeoutMillis: 5_000,
      query_timeout: 30_000,
      ...(options.schema && { options: `-c search_path=${options.schema}` }),
      // bigint columns (sizes, timestamps) as numbers, as the storage reads them.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // A broken idle connection is dropped by the pool; without a listener it would crash the process.
    pool.on('error', () => {});
    return new Kysely({ dialect: new PostgresDialect({ pool }) });
  }
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(options.sqliteFile);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return new Kysely({ dialect: new SqliteDialect({ database: db }) });
}
