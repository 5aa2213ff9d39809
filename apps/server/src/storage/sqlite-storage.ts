import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Database as Connection } from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { Mutex } from './mutex.js';
import { SqliteAppender } from './sqlite-append.js';
import { WalCheckpointer } from './wal-checkpointer.js';
import { assertStorable } from './storable.js';
import type { AppendResult, NewMessage } from './storage.js';
import { withStatementCache } from './statement-cache.js';
import type { StorageDatabase } from './schema.js';
import { SqlStorage, type TransactionBody } from './sql-storage.js';

/**
 * How hard SQLite pushes a commit to disk. Both use the write-ahead log:
 * - `normal` (the default): a commit survives a crash of the process; a crash
 *   of the OS or a power cut may lose the last commits (never corrupts).
 * - `full`: the log is synced at every commit, so a commit also survives an
 *   OS crash or a power cut; each commit costs an fsync.
 */
export type SqliteSynchronous = 'normal' | 'full';

export interface SqliteStorageOptions {
  /** The database file; it and its folder are created on first start. */
  readonly file: string;
  /** Default `normal`. */
  readonly synchronous?: SqliteSynchronous;
  /**
   * How long a write waits for another process's write to finish before it
   * fails with SQLITE_BUSY. Default 5000 ms. The wait blocks this process's
   * event loop (better-sqlite3 is synchronous), but other processes hold the
   * lock only for one short transaction: no transaction awaits anything but
   * the database.
   */
  readonly busyTimeoutMs?: number;
  /**
   * Checkpoint the write-ahead log on a thread of its own instead of inside
   * the commits (see WalCheckpointer): for the process that does most of the
   * writing (the single process, or the primary as the machine's message
   * writer). Default false: SQLite's automatic checkpoint.
   */
  readonly backgroundCheckpoints?: boolean;
  /** Told when a background checkpoint fails (the commits go on; the log grows until one succeeds). */
  readonly onCheckpointError?: (message: string) => void;
}

/** With background checkpoints, the commit that finds the log this many pages long still checkpoints itself. */
const SAFETY_NET_CHECKPOINT_PAGES = 10_000;

// Writes of every SqliteStorage in this process take turns. Without it, two
// instances on one file in one process would deadlock: the second one's BEGIN
// IMMEDIATE would wait synchronously (busy_timeout) for a lock that the first
// one can only release once the event loop runs again. Across processes the
// database's own lock serializes them.
const processWriteGate = new Mutex();

/**
 * Storage in an SQLite file through better-sqlite3 (the embedded default).
 * Several processes may use the same file at once (WAL mode: readers never
 * wait; writers take turns).
 */
export class SqliteStorage extends SqlStorage {
  /** The connection Kysely opened (it opens it on the first query), for the append fast path. */
  readonly #connection: { db: Connection | null };
  readonly #checkpointer: { current: WalCheckpointer | null };
  #appender: SqliteAppender | null = null;

  constructor(options: SqliteStorageOptions) {
    const { file, synchronous = 'normal', busyTimeoutMs = 5000, backgroundCheckpoints = false, onCheckpointError } = options;
    const connection: { db: Connection | null } = { db: null };
    const checkpointer: { current: WalCheckpointer | null } = { current: null };
    super(
      new Kysely<StorageDatabase>({
        dialect: new SqliteDialect({
          // Opened on the first query, so that a bad path fails in migrate()
          // (a rejected promise), not in a constructor.
          database: async () => {
            mkdirSync(dirname(file), { recursive: true });
            const db = new Database(file, { timeout: busyTimeoutMs });
            // WAL: readers see the last commit while a writer writes, and a
            // commit is one append to the log. The mode is stored in the file.
            db.pragma('journal_mode = WAL');
            db.pragma(`synchronous = ${synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
            // A session must belong to an account (sessions.username), as on PostgreSQL.
            db.pragma('foreign_keys = ON');
            if (backgroundCheckpoints) {
              db.pragma(`wal_autocheckpoint = ${SAFETY_NET_CHECKPOINT_PAGES}`);
              checkpointer.current = new WalCheckpointer(file, onCheckpointError ? { onError: onCheckpointError } : {});
            }
            connection.db = db;
            return withStatementCache(db);
          },
        }),
      }),
    );
    this.#connection = connection;
    this.#checkpointer = checkpointer;
  }

  /**
   * The fast path (sqlite-append.ts): prepared statements on the connection
   * itself, one synchronous transaction per batch. Sharing Kysely's connection
   * is safe behind the process's write gate: no Kysely write transaction is
   * open meanwhile, and a Kysely read is one synchronous call that cannot be
   * half done when this runs.
   */
  override async append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    if (messages.length === 0) return [];
    assertStorable(messages);
    return processWriteGate.run(async () => {
      // Kysely opens the connection on its first query (migrate() normally was it).
      if (!this.#connection.db) await this.db.selectFrom('conversations').select('id').limit(1).execute();
      // It may have been closed while this waited for the gate.
      this.assertOpen();
      this.#appender ??= new SqliteAppender(this.#connection.db!);
      return this.#appender.append(messages);
    });
  }

  /**
   * BEGIN IMMEDIATE takes the database's write lock before the first read, so
   * the dedupe lookup and the seq counters read inside the transaction cannot
   * be changed by another process before it commits. (A plain BEGIN would read
   * first and could then fail to upgrade to a writer with SQLITE_BUSY, which
   * busy_timeout does not retry.)
   */
  protected async write<T>(body: TransactionBody<T>): Promise<T> {
    const db = this.db;
    return processWriteGate.run(() =>
      db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const result = await body(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (error) {
          await sql`rollback`.execute(conn).catch(() => {});
          throw error;
        }
      }),
    );
  }

  /**
   * Kysely's Migrator takes no lock on SQLite (it assumes one connection), so
   * the whole migration runs inside one BEGIN IMMEDIATE transaction: a second
   * process waits, then finds the schema up to date. SQLite's DDL is
   * transactional, so a failed migration leaves nothing behind.
   */
  async migrate(): Promise<void> {
    return this.write((conn) => this.runMigrator(conn));
  }

  /** Waits for this process's writes in flight, then closes the file (and the checkpoint thread's connection). */
  override close(): Promise<void> {
    return processWriteGate.run(async () => {
      await this.#checkpointer.current?.stop();
      this.#checkpointer.current = null;
      await super.close();
    });
  }
}
