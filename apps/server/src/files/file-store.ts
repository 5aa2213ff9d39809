import type { Readable } from 'node:stream';

/**
 * Where the bytes of uploads (and their thumbnails) live, by key. Metadata is
 * not here: it is in the chat database (file-catalog.ts), so that every store
 * answers the same questions the same way.
 *
 * Contract (test/helpers/file-store-contract.ts runs it on every store):
 * - write streams `source` in as it arrives (never the whole file in memory)
 *   and resolves with the byte count once every byte is stored; a key is
 *   written once. If `source` fails or the write does, nothing is left under
 *   the key and the promise rejects with that error.
 * - read gives the bytes exactly as written, as a stream, or null for a key
 *   never written (or deleted). A reader that stops early leaks nothing.
 * - delete removes the keys; keys that are not there are no error. A read
 *   started before a delete may fail; one started after returns null.
 */
export interface FileStore {
  /** For the logs and /health: `disk` or `postgres`. */
  readonly kind: string;
  write(key: string, source: AsyncIterable<Uint8Array>): Promise<number>;
  read(key: string): Promise<Readable | null>;
  delete(keys: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** Keys are file ids and `<id>.thumb`: letters, digits, `-`, `_`, `.`: safe as a file name. */
export const STORE_KEY = /^[A-Za-z0-9_-]{1,64}(\.thumb)?$/;

export function assertStoreKey(key: string): void {
  if (!STORE_KEY.test(key)) throw new Error(`invalid file store key: ${JSON.stringify(key)}`);
}
