import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { assertStoreKey, type FileStore } from './file-store.js';
import type { FilesDatabase } from './files-database.js';

/** Bytes per row: big enough that a 25 MiB file is 100 rows, small enough that no side holds much. */
export const CHUNK_BYTES = 256 * 1024;

/**
 * Files in PostgreSQL as rows of bytea chunks (`file_chunks`), shared by every
 * node that shares the database. Each chunk is inserted as it fills, outside
 * any long transaction; the metadata row (file-catalog.ts) is written only
 * after the last chunk, so a half-written file is never referenced, and a
 * failed write deletes its chunks. Reading fetches one chunk per query as the
 * reader asks for more (back-pressure from the HTTP response). Written with
 * Kysely, so it runs on SQLite too (the contract suite runs it on both).
 */
export class PostgresFileStore implements FileStore {
  readonly kind = 'postgres';
  readonly #db: Kysely<FilesDatabase>;
  readonly #closeDb: boolean;

  /** `closeDb`: close() also destroys `db` (when the store is its only user). */
  constructor(db: Kysely<FilesDatabase>, options: { closeDb?: boolean } = {}) {
    this.#db = db;
    this.#closeDb = options.closeDb ?? false;
  }

  async write(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    assertStoreKey(key);
    let n = 0;
    let bytes = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async (upTo: number) => {
      const all = Buffer.concat(pending);
      let offset = 0;
      while (all.length - offset >= upTo && all.length - offset > 0) {
        const data = all.subarray(offset, offset + CHUNK_BYTES);
        await this.#db.insertInto('file_chunks').values({ file_key: key, n: n++, data }).execute();
        offset += data.length;
      }
      pending = offset < all.length ? [all.subarray(offset)] : [];
      pendingBytes = all.length - offset;
    };
    try {
      for await (const chunk of source) {
        bytes += chunk.length;
        pending.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
        pendingBytes += chunk.length;
        if (pendingBytes >= CHUNK_BYTES) await flush(CHUNK_BYTES);
      }
      await flush(1);
      // An empty file is one empty chunk: present, zero bytes.
      if (n === 0)
        await this.#db
          .insertInto('file_chunks')
          .values({ file_key: key, n: n++, data: Buffer.alloc(0) })
          .execute();
      return bytes;
    } catch (err) {
      await this.delete([key]).catch(() => {});
      throw err;
    }
  }

  async read(key: string): Promise<Readable | null> {
    assertStoreKey(key);
    const first = await this.#chunk(key, 0);
    if (first === undefined) return null;
    let next = 1;
    let head: Buffer | undefined = first;
    const store = this;
    return Readable.from(
      (async function* chunks() {
        if (head) yield head;
        head = undefined;
        for (;;) {
          const data = await store.#chunk(key, next++);
          if (data === undefined) return;
          yield data;
        }
      })(),
      { objectMode: false },
    );
  }

  async #chunk(key: string, n: number): Promise<Buffer | undefined> {
    const row = await this.#db.selectFrom('file_chunks').select('data').where('file_key', '=', key).where('n', '=', n).executeTakeFirst();
    return row ? Buffer.from(row.data) : undefined;
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    for (const key of keys) assertStoreKey(key);
    await this.#db.deleteFrom('file_chunks').where('file_key', 'in', keys).execute();
  }

  async close(): Promise<void> {
    if (this.#closeDb) await this.#db.destroy();
  }
}
