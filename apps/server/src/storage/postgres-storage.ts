import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { findByRef, planAppend } from './append.js';
import { appendFresh, RefTakenError } from './postgres-append.js';
import type { StorageDatabase } from './schema.js';
import { SqlStorage, type TransactionBody } from './sql-storage.js';
import { upsertReceiptCountsOn } from './postgres-receipt-counts.js';
import type { AppendResult, NewMessage, StoredReceiptCounts } from './storage.js';
import { assertStorable } from './storable.js';

export interface PostgresStorageOptions {
  /** A connection URL: `postgresql://user@host:5432/database`. */
  readonly url: string;
  /**
   * The schema to keep the tables in (created by migrate() if missing), set as
   * the connections' search_path; default: the server's default (public).
   * Lower-case letters, digits and underscores.
   */
  readonly schema?: string;
  /** Connections in the pool; default 10. */
  readonly poolSize?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;

/** How many times a write transaction runs before a retryable conflict is given up on. */
const MAX_ATTEMPTS = 10;

/**
 * The errors after which running the whole transaction again succeeds: a
 * deadlock (e.g. two batches inserting the same two refs in opposite orders)
 * or a serialization failure.
 */
function isRetryable(error: unknown): boolean {
  return error instanceof pg.DatabaseError && (error.code === '40P01' || error.code === '40001');
}

/**
 * Storage in PostgreSQL through a pg Pool (DATABASE_URL): for deployments
 * whose disks are ephemeral or that run several nodes. A commit is durable
 * as the server is configured (by default it survives an OS crash).
 */
export class PostgresStorage extends SqlStorage {
  readonly #schema: string | undefined;
  readonly #pool: pg.Pool;

  constructor(options: PostgresStorageOptions) {
    const { url, schema, poolSize = 10 } = options;
    if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
      throw new Error(`invalid schema name "${schema}": use lower-case letters, digits and _`);
    }
    const pool = new pg.Pool({
      connectionString: url,
      max: poolSize,
      // PostgreSQL away or a silent network: calls fail (sends get STORAGE_FAILED) instead of waiting for ever.
      connectionTimeoutMillis: 5_000,
      query_timeout: 15_000,
      keepAlive: true,
      // Set at connection start-up, so every pooled connection has it without
      // an extra round trip.
      ...(schema && { options: `-c search_path=${schema}` }),
      // bigint columns (seq, timestamps) come back as JS numbers rather than
      // strings; both stay far below 2^53. Scoped to this pool, not pg's
      // global parsers.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8_OID ? Number : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection that breaks (a server restart, a network cut) is
    // reported here and dropped by the pool; without a listener the error
    // would crash the process. The next query opens a new connection and
    // reports any lasting problem to its caller.
    pool.on('error', () => {});
    // A connection that breaks while it is checked out (inside a transaction,
    // between two queries) emits 'error' on its client, where the pool does not
    // listen: unheard, that error would end the process. The query in flight
    // (or the next one) fails and reports it to its caller.
    pool.on('connect', (client) => client.on('error', () => {}));
    super(new Kysely<StorageDatabase>({ dialect: new PostgresDialect({ pool }) }));
    this.#schema = schema;
    this.#pool = pool;
  }

  /**
   * The fast path (postgres-append.ts): a batch is one prepared statement in
   * autocommit, one round trip, where the portable path took four (begin,
   * counters, messages, commit) with the statements built per call. Same
   * contract (the shared suite runs on it). First optimistically, looking
   * nothing up: a (from, ref) stored before fails the statement as a whole
   * (its unique index), nothing is stored and no seq taken, and the batch
   * goes again with its keys looked up, the stored ones as duplicates.
   */
  override async append(messages: readonly NewMessage[]): Promise<AppendResult[]> {
    if (messages.length === 0) return [];
    this.assertOpen();
    assertStorable(messages);
    const lookUp = new Set<string>();
    for (let attempt = 1; ; attempt++) {
      try {
        const plan = planAppend(messages, lookUp.size === 0 ? new Map() : await findByRef(this.db, messages, lookUp));
        return plan.results(await appendFresh(this.#pool, plan.fresh));
      } catch (error) {
        const again = error instanceof RefTakenError ? attempt <= messages.length : isRetryable(error) && attempt < MAX_ATTEMPTS;
        if (!again) throw error;
        if (error instanceof RefTakenError) for (const key of error.keys) lookUp.add(key);
      }
    }
  }

  /** One prepared statement in autocommit (postgres-receipt-counts.ts) instead of a transaction of built statements. */
  override async saveReceiptCounts(counts: readonly StoredReceiptCounts[]): Promise<void> {
    if (counts.length === 0) return;
    this.assertOpen();
    for (let attempt = 1; ; attempt++) {
      try {
        return await upsertReceiptCountsOn(this.#pool, counts);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  }

  /**
   * Read committed: the upsert of a conversation's counter row locks it until
   * commit, so concurrent appends to one conversation take turns for exactly
   * as long as they overlap, and each reads the counter its predecessor left.
   * Conflicts that a fresh attempt resolves (see isRetryable) run it again.
   */
  protected async write<T>(body: TransactionBody<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(body);
      } catch (error) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(error)) throw error;
      }
    }
  }

  /** Kysely's Migrator serializes concurrent runs with an advisory lock and transactional DDL. */
  async migrate(): Promise<void> {
    await this.runMigrator(this.db, this.#schema);
  }
}
