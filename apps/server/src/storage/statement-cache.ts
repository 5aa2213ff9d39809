import type { Database } from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/**
 * `db` as Kysely's SqliteDialect sees it, but keeping the last `size`
 * prepared statements: Kysely prepares every query afresh, which was a sixth
 * of the time of a one-message append. Reusing a statement is safe here
 * because Kysely runs one query at a time on the connection and nothing here
 * streams (an iterating statement could not be run again meanwhile).
 */
export function withStatementCache(db: Database, size = 200): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(sql) {
      let statement = cache.get(sql);
      if (statement) {
        // Most recently used last, so the first key is the one to evict.
        cache.delete(sql);
      } else {
        statement = db.prepare(sql);
        if (cache.size >= size) cache.delete(cache.keys().next().value!);
      }
      cache.set(sql, statement);
      return statement;
    },
  };
}
