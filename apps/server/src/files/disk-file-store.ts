import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { assertStoreKey, type FileStore } from './file-store.js';

/**
 * Files on the local disk, under `<DATA_DIR>/files/<first two characters>/<key>`
 * (a folder of a few thousand entries at most per prefix). A write goes to a
 * temporary name first and is renamed into place once complete, so a reader
 * never sees half a file and a crash leaves only `.part` files (removed at start).
 * For one machine: several nodes need a store they share (PostgresFileStore).
 */
export class DiskFileStore implements FileStore {
  readonly kind = 'disk';
  readonly #root: string;

  constructor(root: string) {
    this.#root = root;
  }

  #path(key: string): string {
    assertStoreKey(key);
    return join(this.#root, key.slice(0, 2), key);
  }

  async write(key: string, source: AsyncIterable<Uint8Array>): Promise<number> {
    const path = this.#path(key);
    await mkdir(join(this.#root, key.slice(0, 2)), { recursive: true });
    const part = `${path}.${randomBytes(6).toString('hex')}.part`;
    let bytes = 0;
    try {
      await pipeline(
        source,
        async function* count(chunks: AsyncIterable<Uint8Array>) {
          for await (const chunk of chunks) {
            bytes += chunk.length;
            yield chunk;
          }
        },
        // flush: the bytes are on disk (fsync) before the rename makes the file visible.
        createWriteStream(part, { flags: 'wx', flush: true }),
      );
      await rename(part, path);
      return bytes;
    } catch (err) {
      await rm(part, { force: true });
      throw err;
    }
  }

  async read(key: string): Promise<Readable | null> {
    const stream = createReadStream(this.#path(key));
    // Resolve once the file is open: a missing file is null, not a stream that fails later.
    return new Promise((resolve, reject) => {
      stream.once('open', () => resolve(stream));
      stream.once('error', (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? resolve(null) : reject(err)));
    });
  }

  async delete(keys: readonly string[]): Promise<void> {
    await Promise.all(keys.map((key) => rm(this.#path(key), { force: true })));
  }

  async close(): Promise<void> {}
}
